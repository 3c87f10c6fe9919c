"""``cliffkit bench`` and ``cliffkit report`` through cliffkit.cli.main."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from cliffkit.bench import run_grid
from cliffkit.cli import main

pytestmark = pytest.mark.cli

_GRID = """
name = "tiny"
seeds = [0, 1]
splits = ["cliff"]
backbones = ["mlp"]
losses = ["plain", "cliff"]
[[datasets]]
name = "esol"
targets = ["logS"]
"""


def _fake_module():
    path = Path(__file__).resolve().parents[1] / "bench" / "test_runner.py"
    spec = importlib.util.spec_from_file_location("_fake_runner", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_dry_run_lists_cells(tmp_path, capsys):
    cfg = tmp_path / "grid.toml"
    cfg.write_text(_GRID, encoding="utf-8")
    rc = main(["bench", "--config", str(cfg), "-o", str(tmp_path / "res"), "--dry-run"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "4 cells (0 already finished" in out and "2 splits" in out
    assert out.count("esol-logS-cliff-mlp-") == 4
    assert "  splits:\n    esol-logS-cliff-s0-" in out and out.count("    esol-logS-cliff-s") == 2
    assert not (tmp_path / "res").exists()  # a dry run writes nothing


def test_bench_mixed_grid_names_what_cannot_train_and_lists_what_exclude_leaves_out(tmp_path,
                                                                                    capsys):
    mixed = _GRID.replace('backbones = ["mlp"]', 'backbones = ["mlp", "lgbm"]').replace(
        'losses = ["plain", "cliff"]', 'losses = ["plain", "cliff-pair"]')
    cfg = tmp_path / "grid.toml"
    cfg.write_text(mixed, encoding="utf-8")
    assert main(["bench", "--config", str(cfg), "-o", str(tmp_path / "r"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: error:") and "(lgbm, cliff-pair)" in err
    assert err.count("\n") == 1
    cfg.write_text(mixed.replace("[[datasets]]", 'exclude = [{ backbone = "lgbm", loss = '
                                 '"cliff-pair" }]\n[[datasets]]'), encoding="utf-8")
    assert main(["bench", "--config", str(cfg), "-o", str(tmp_path / "r"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "left out (exclude): backbone lgbm, loss cliff-pair" in out
    assert "6 cells (0 already finished" in out and "lgbm-cliff-pair" not in out


def test_bench_help_lists_every_shipped_grid(capsys):
    from cliffkit.bench._config import list_configs

    assert main(["bench", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert len(list_configs()) >= 8 and all(name in out for name in list_configs())


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (_GRID.replace("losses", "loss"), "Unknown key 'loss'"),
        (_GRID.replace('"mlp"', '"mpl"'), "Unknown backbone 'mpl'; choose one of: .*Did you mean 'mlp'"),
        (_GRID.replace('"logS"', '"logs"'), "Unknown target of dataset 'esol' 'logs'"),
    ],
)
def test_bench_bad_config_is_one_line_error(tmp_path, capsys, text, match):
    import re

    cfg = tmp_path / "grid.toml"
    cfg.write_text(text, encoding="utf-8")
    rc = main(["bench", "--config", str(cfg), "-o", str(tmp_path / "res")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("cliffkit: error: config ") and err.count("\n") == 1
    assert re.search(match, err)
    assert not (tmp_path / "res").exists()  # rejected before any work


def test_bench_unknown_config_name_and_executor(tmp_path, capsys):
    assert main(["bench", "--config", "smok", "-o", str(tmp_path)]) == 2
    assert "Did you mean 'smoke'" in capsys.readouterr().err
    assert main(["bench", "--config", "smoke", "-o", str(tmp_path), "--executor", "lokal"]) == 2
    assert "Unknown executor 'lokal'" in capsys.readouterr().err


def test_report_from_results(tmp_path, capsys):
    fake = _fake_module()
    from cliffkit.bench import GridConfig

    cfg = GridConfig.from_dict(
        {"name": "fake", "seeds": [0, 1], "splits": ["cliff"], "backbones": ["mlp", "lgbm"],
         "losses": ["plain", "cliff"], "datasets": [{"name": "esol", "targets": ["logS"]}]},
        check_names=False,
    )
    run_grid(cfg, tmp_path / "res", show_progress=False, cell_fn=fake.fake_cell,
             split_fn=fake.fake_split)
    rc = main(["report", str(tmp_path / "res"), "-o", str(tmp_path / "rep")])
    out = capsys.readouterr().out
    assert rc == 0 and "report.html" in out
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "# cliffkit bench report: fake" in md
    assert "boom: lgbm cannot" in md  # failed cells are listed
    assert (tmp_path / "rep" / "report.html").stat().st_size > 1000
    assert list((tmp_path / "rep" / "images").glob("*.png"))


def test_report_without_results(tmp_path, capsys):
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "rep")]) == 2
    assert "No results in" in capsys.readouterr().err


def test_bench_datasets_filter_keeps_cell_keys(tmp_path, capsys):
    cfg = tmp_path / "grid.toml"
    cfg.write_text(_GRID + '[[datasets]]\nname = "freesolv"\n', encoding="utf-8")
    assert main(["bench", "--config", str(cfg), "-o", str(tmp_path / "r"), "--dry-run"]) == 0
    full = {ln.strip() for ln in capsys.readouterr().out.splitlines() if "-s" in ln and "-mlp-" in ln}
    assert main(["bench", "--config", str(cfg), "-o", str(tmp_path / "r"), "--dry-run",
                 "--datasets", "freesolv"]) == 0
    part = {ln.strip() for ln in capsys.readouterr().out.splitlines() if "-mlp-" in ln}
    assert part and part < full and all(k.startswith("freesolv-") for k in part)
    assert main(["bench", "--config", str(cfg), "-o", str(tmp_path / "r"),
                 "--datasets", "esoll"]) == 2
    err = capsys.readouterr().err
    assert "has no dataset 'esoll'" in err and "esol, freesolv" in err


def test_report_ignores_cells_of_other_settings_and_counts_missing(tmp_path, capsys):
    fake = _fake_module()
    from cliffkit.bench import GridConfig

    grid = {"name": "fake", "seeds": [0, 1], "splits": ["cliff"], "backbones": ["mlp"],
            "losses": ["plain"], "datasets": [{"name": "esol", "targets": ["logS"]}]}
    old = GridConfig.from_dict({**grid, "backbone_params": {"mlp": {"epochs": 3}}},
                               check_names=False)
    run_grid(old, tmp_path / "res", show_progress=False, cell_fn=fake.fake_cell,
             split_fn=fake.fake_split)
    new = GridConfig.from_dict({**grid, "seeds": [0, 1, 2]}, check_names=False)
    cells = new.cells()
    run_grid(new, tmp_path / "res", show_progress=False, cell_fn=fake.fake_cell,
             split_fn=fake.fake_split)
    # lose one result of the new grid: the report says so
    (tmp_path / "res" / "cells" / f"{cells[0].key}.json").unlink()
    assert main(["report", str(tmp_path / "res"), "-o", str(tmp_path / "rep"), "--no-figures"]) == 0
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "2 cells made under other settings" in md
    assert "1 of 3 cells of this grid have no result yet" in md
    assert "2 cores" in md or "cores" in md  # the machine the cells ran on


def test_cells_run_seed_major(tmp_path):
    fake = _fake_module()
    from cliffkit.bench import GridConfig, load_results

    cfg = GridConfig.from_dict(
        {"name": "fake", "seeds": [0, 1], "splits": ["cliff"], "backbones": ["mlp", "lgbm"],
         "losses": ["plain"], "datasets": [{"name": "esol", "targets": ["logS"]},
                                           {"name": "freesolv", "targets": ["expt"]}]},
        check_names=False,
    )
    order = []

    def cell_fn(cell, split_path):
        order.append(cell.seed)
        return fake.fake_cell(cell, split_path)

    run_grid(cfg, tmp_path / "res", show_progress=False, cell_fn=cell_fn, split_fn=fake.fake_split)
    assert order == sorted(order) == [0] * 4 + [1] * 4
    table = load_results(tmp_path / "res")
    assert table["machine"].str.contains("cores").all()
    assert (table["started"] <= table["finished"]).all()


def test_bench_datasets_part_records_the_whole_grid(tmp_path, monkeypatch, capsys):
    """A --datasets run writes the whole grid to config.json, so the report covers it all."""
    import json

    fake = _fake_module()
    import cliffkit.bench._runner as runner

    monkeypatch.setattr(runner, "_default_cell_fn", lambda: fake.fake_cell)
    monkeypatch.setattr(runner, "_default_split_fn", lambda: fake.fake_split)
    cfg = tmp_path / "grid.toml"
    cfg.write_text(_GRID + '[[datasets]]\nname = "freesolv"\n', encoding="utf-8")
    assert main(["bench", "--config", str(cfg), "-o", str(tmp_path / "r"),
                 "--datasets", "freesolv", "--no-progress"]) == 0
    recorded = json.loads((tmp_path / "r" / "config.json").read_text())["config"]
    assert [d["name"] for d in recorded["datasets"]] == ["esol", "freesolv"]
    assert main(["report", str(tmp_path / "r"), "-o", str(tmp_path / "rep"), "--no-figures"]) == 0
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "4 of 8 cells of this grid have no result yet" in md and "other settings" not in md


def test_report_compare_and_partial_grid(tmp_path, capsys):
    """--compare puts a second results folder beside the first; a partial grid's cells not
    run are listed, never dropped."""
    fake = _fake_module()
    from cliffkit.bench import GridConfig, load_results

    grid = {"name": "fake", "seeds": [0, 1], "splits": ["cliff"], "backbones": ["mlp"],
            "losses": ["plain"], "datasets": [{"name": "qm9", "targets": ["gap"]}]}
    full = GridConfig.from_dict(grid, check_names=False)
    sub = GridConfig.from_dict({**grid, "datasets": [{"name": "qm9", "targets": ["gap"],
                                                      "subsample": 300}]}, check_names=False)
    for cfg, out in ((full, "full"), (sub, "sub")):
        run_grid(cfg, tmp_path / out, show_progress=False, cell_fn=fake.fake_cell,
                 split_fn=fake.fake_split)
    missing_key = full.cells()[1].key
    (tmp_path / "full" / "cells" / f"{missing_key}.json").unlink()
    table = load_results(tmp_path / "full", grid_only=True)
    assert [c["key"] for c in table.attrs["missing_cells"]] == [missing_key]
    rc = main(["report", str(tmp_path / "full"), "-o", str(tmp_path / "rep"), "--no-figures",
               "--compare", str(tmp_path / "sub"), "--compare-label", "300 subsample"])
    assert rc == 0
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "## Against 300 subsample" in md and "300-molecule subsample" in md
    assert "| qm9/gap | cliff | mlp | 1 / 2 |" in md  # seeds here / there
    assert "## Cells not run yet" in md and "| qm9/gap | cliff | mlp | plain | 1 | 1 |" in md
    assert "--compare-label '300 subsample'" in md  # the command that remakes it
    # --compare naming a folder that is not a results folder: one-line error
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "full"), "-o", str(tmp_path / "rep2"),
                 "--compare", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: error: --compare") and err.count("\n") == 1


def _fake_results(tmp_path, name="res"):
    fake = _fake_module()
    from cliffkit.bench import GridConfig

    cfg = GridConfig.from_dict(
        {"name": "fake", "seeds": [0, 1], "splits": ["cliff"], "backbones": ["mlp"],
         "losses": ["plain"], "datasets": [{"name": "qm9", "targets": ["gap"]}]},
        check_names=False)
    run_grid(cfg, tmp_path / name, show_progress=False, cell_fn=fake.fake_cell,
             split_fn=fake.fake_split)
    return cfg, tmp_path / name


@pytest.mark.parametrize("edit, reason", [
    (lambda rec: None, "holds null"),
    (lambda rec: [], "holds a list"),
    (lambda rec: {**rec, "cell": None}, "no 'cell' object"),
    (lambda rec: {**rec, "metrics": "x"}, "field 'metrics' is a string"),
    (lambda rec: {**rec, "seconds": "abc"}, "field 'seconds' is a string"),
    ("truncate", "not valid JSON"),
])
def test_report_lists_a_malformed_cell_file_never_drops_it(tmp_path, capsys, edit, reason):
    """One rule for every malformed cell file (issue 20c): the report runs and lists it, with
    its file name and reason, as unreadable in 'Failed cells' and in the overview."""
    import json

    cfg, res = _fake_results(tmp_path)
    key = cfg.cells()[1].key
    path = res / "cells" / f"{key}.json"
    text = path.read_text(encoding="utf-8")
    if edit == "truncate":
        path.write_text(text[: len(text) // 2], encoding="utf-8")
    else:
        path.write_text(json.dumps(edit(json.loads(text))), encoding="utf-8")
    for extra in ([], ["--compare", str(res)]):
        rc = main(["report", str(res), "-o", str(tmp_path / "rep"), "--no-figures", *extra])
        assert rc == 0, capsys.readouterr().err
        md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
        assert "1 unreadable" in md and f"cells/{key}.json: " in md and reason in md
        failed = md.split("## Failed cells", 1)[1].split("\n## ", 1)[0]
        assert key in failed and "unreadable cell file" in failed
        assert "## Cells not run yet" not in md  # present, though unreadable: not "not run"


def test_report_warns_when_config_json_is_unreadable(tmp_path, capsys):
    cfg, res = _fake_results(tmp_path)
    (res / "cells" / f"{cfg.cells()[1].key}.json").unlink()  # a partial grid ...
    (res / "config.json").write_text('{"config": {"name": "fa', encoding="utf-8")  # ... hidden
    assert main(["report", str(res), "-o", str(tmp_path / "rep"), "--no-figures"]) == 0
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    overview = md.split("## Overview", 1)[1].split("\n## ", 1)[0]
    assert "config.json is not valid JSON" in overview and "complete is unknown" in overview


def test_report_compare_with_itself_published_folder_and_label_without_compare(tmp_path, capsys):
    """Issue 20c items 14-15: a folder compared with itself has the same splits (by checksum);
    --compare-label alone is an error; a published folder's report does not tell the user
    to run the grid into it; cells not run are listed in task/split/backbone/loss order."""
    import json

    cfg, res = _fake_results(tmp_path)
    for path in (res / "cells").glob("*.json"):  # as the real cell function records it
        rec = json.loads(path.read_text())
        rec["metrics"]["split_checksum"] = f"sum-of-seed-{rec['cell']['seed']}"
        path.write_text(json.dumps(rec))
    rep = tmp_path / "rep"
    assert main(["report", str(res), "-o", str(rep), "--no-figures", "--compare", str(res)]) == 0
    md = (rep / "report.md").read_text(encoding="utf-8")
    assert "a seed's split differs" not in md and "splits are the same in both by split checksum" in md
    assert main(["report", str(res), "-o", str(rep), "--compare-label", "x"]) == 2
    assert capsys.readouterr().err.startswith("cliffkit: error: --compare-label")
    doc = json.loads((res / "config.json").read_text())
    doc["source"] = "cliffkit:bench/configs/fake.toml"  # as if shipped
    (res / "config.json").write_text(json.dumps(doc))
    assert main(["report", str(res), "-o", str(rep), "--no-figures"]) == 0
    assert f"cliffkit bench --config fake -o {res}" in (rep / "report.md").read_text()
    (res / "splits" / "SHA256SUMS").write_text("")  # now a published folder
    assert main(["report", str(res), "-o", str(rep), "--no-figures"]) == 0
    md = (rep / "report.md").read_text(encoding="utf-8")
    assert f"-o {res} &&" not in md and "cliffkit bench --config fake -o SCRATCH_DIR" in md


def test_fmt_prints_no_negative_zero_and_not_run_rows_are_ordered():
    from cliffkit.report._bench_report import _fmt, _not_run
    from cliffkit.report._report import Report

    assert _fmt(-0.0001) == "0.000" and _fmt(-0.0006) == "-0.001" and _fmt(0.0) == "0.000"
    rep = Report("t")
    missing = [{"dataset": "qm9", "target": t, "split": sp, "backbone": bb, "loss": lo, "seed": 0}
               for t in ("lumo", "gap") for sp in ("random", "cliff") for bb in ("mlp", "lgbm")
               for lo in ("lds", "plain")]
    _not_run(rep, missing, 20)
    tab = next(i for i in rep.sections[0].items if i.kind == "table")
    assert [r[:4] for r in tab.rows[:3]] == [["qm9/gap", "cliff", "lgbm", "plain"],
                                             ["qm9/gap", "cliff", "lgbm", "lds"],
                                             ["qm9/gap", "cliff", "mlp", "plain"]]


def test_config_data_file_warnings_are_one_line(tmp_path, capsys, data_dir, monkeypatch):
    """A data file that a config loads: its DataWarning is one 'cliffkit: warning:' line, not
    Python's two-line warning with a source path (found by the fresh-user trial)."""
    monkeypatch.chdir(tmp_path)
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:40]
    pd.DataFrame({"smiles": src["smiles"], "ki": 10 ** (4 - src["exp"])}).to_csv("ki.csv",
                                                                                 index=False)
    (tmp_path / "g.toml").write_text(
        'name = "g"\nseeds = [0]\nsplits = ["random"]\nbackbones = ["lgbm"]\nlosses = ["plain"]\n'
        '[[datasets]]\nname = "ki.csv"\n', encoding="utf-8")
    assert main(["bench", "--config", "g.toml", "-o", "out", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "cliffkit: warning: ki.csv: target 'ki' looks like a concentration" in err
    assert "DataWarning" not in err and "_validation.py" not in err


def test_ctrl_c_in_bench_says_what_was_kept_and_how_to_resume(tmp_path, monkeypatch, capsys):
    # fresh-user trial 4: 'timeout -s INT 20 cliffkit bench ...' printed "cliffkit: error:
    # aborted by user" (click turns KeyboardInterrupt into Abort, so the resumable message
    # was never reached)
    fake = _fake_module()
    import cliffkit.bench._runner as runner

    calls = []

    def interrupted_cell(cell, split_path):
        calls.append(cell)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return fake.fake_cell(cell, split_path)

    monkeypatch.setattr(runner, "_default_cell_fn", lambda: interrupted_cell)
    monkeypatch.setattr(runner, "_default_split_fn", lambda: fake.fake_split)
    cfg = tmp_path / "grid.toml"
    cfg.write_text(_GRID, encoding="utf-8")
    argv = ["bench", "--config", str(cfg), "-o", str(tmp_path / "r"), "--no-progress"]
    assert main(argv) == 130
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err[-1].startswith("cliffkit: error: interrupted; finished outputs were kept")
    assert "rerun the same command" in err[-1] and "aborted" not in err[-1]
    assert len(list((tmp_path / "r" / "cells").glob("*.json"))) == 1
    monkeypatch.setattr(runner, "_default_cell_fn", lambda: fake.fake_cell)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "1 already finished, 3 run" in out and "(3 cells to run" in out
    # one cell left: "1 cell to run", not "1 cells to run"
    (next((tmp_path / "r" / "cells").glob("*-s1-*.json"))).unlink()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "(1 cell to run" in out and "1 cells" not in out


def test_a_one_cell_grid_says_cell_not_cells(tmp_path, monkeypatch, capsys):
    fake = _fake_module()
    import cliffkit.bench._runner as runner

    monkeypatch.setattr(runner, "_default_cell_fn", lambda: fake.fake_cell)
    monkeypatch.setattr(runner, "_default_split_fn", lambda: fake.fake_split)
    cfg = tmp_path / "grid.toml"
    cfg.write_text(_GRID.replace("seeds = [0, 1]", "seeds = [0]")
                   .replace('losses = ["plain", "cliff"]', 'losses = ["plain"]'), encoding="utf-8")
    assert main(["bench", "--config", str(cfg), "-o", str(tmp_path / "r"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "grid 'tiny': 1 cell (1 cell to run)" in out
    assert "1 cell: 0 already finished, 1 run" in out and "1 cells" not in out
