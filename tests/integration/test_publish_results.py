"""benchmarks/publish_results.py: a results folder published into the repository (cells,
deterministically gzipped predictions, split checksums), read back with the same report,
and its split files rebuilt byte for byte from their specs (issue 20)."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "publish_results.py"


def _script():
    spec = importlib.util.spec_from_file_location("publish_results", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cell(cell, split_path):
    """A quick stand-in for training: predictions for the split's real test molecules."""
    import numpy as np
    import pandas as pd

    from cliffkit.bench import CellResult

    split = json.loads(Path(split_path).read_text())
    test = np.asarray(split["test"])
    rng = np.random.default_rng(cell.seed)
    y = rng.normal(size=test.size)
    preds = pd.DataFrame({"index": test, "y_true": y, "y_pred": y + rng.normal(scale=0.3, size=y.size),
                          "stratum": np.where(test % 3 == 0, "cliff", "smooth")})
    err = (preds["y_pred"] - preds["y_true"]).abs()
    cliff, smooth = err[preds["stratum"] == "cliff"].mean(), err[preds["stratum"] == "smooth"].mean()
    metrics = {"n_test": int(test.size), "overall": {"mae": float(err.mean())},
               "strata": {"cliff": {"n": int((preds["stratum"] == "cliff").sum()), "mae": float(cliff)},
                          "smooth": {"n": int((preds["stratum"] == "smooth").sum()), "mae": float(smooth)}},
               "gap": float(cliff - smooth), "ratio": float(cliff / smooth)}
    return CellResult(metrics=metrics, predictions=preds)


def _strip(md: str) -> str:
    """The report without the lines that name the folder or the time it was made."""
    return "\n".join(ln for ln in md.splitlines()
                     if not ln.startswith(("cliffkit 0", "| results |", "Every number"))
                     and "created" not in ln)


def test_publish_reads_back_identically_and_rebuilds_splits(tmp_path, data_dir):
    from cliffkit.bench import GridConfig, load_results, run_grid
    from cliffkit.bench._cell import compute_split
    from cliffkit.cli import main

    mod = _script()
    grid = {"name": "tiny", "seeds": [0, 1], "splits": ["cliff", "random"], "backbones": ["mlp"],
            "losses": ["plain"], "datasets": [{"name": "esol", "targets": ["logS"]}]}
    part = GridConfig.from_dict({**grid, "splits": ["cliff"]}, check_names=False)
    src, dst = tmp_path / "src", tmp_path / "dst"
    # real ESOL splits, stand-in cells (the cell's work is not what is published here)
    run_grid(part, src, show_progress=False, cell_fn=_cell, split_fn=compute_split)
    whole = tmp_path / "tiny.toml"
    whole.write_text('name = "tiny"\nseeds = [0, 1]\nsplits = ["cliff", "random"]\n'
                     'backbones = ["mlp"]\nlosses = ["plain"]\n[[datasets]]\nname = "esol"\n'
                     'targets = ["logS"]\n', encoding="utf-8")

    assert mod.main(["publish", str(src), str(dst), "--grid", str(whole)]) == 0
    # the whole grid is recorded: the 2 random-split cells are "not run yet", not lost
    table = load_results(dst, grid_only=True)
    assert len(table) == 2 and table.attrs["n_missing"] == 2
    assert all(p.endswith(".predictions.csv.gz") for p in table["predictions_path"])
    for p in (src / "cells").glob("*.predictions.csv"):
        gz = (dst / "cells" / (p.name + ".gz")).read_bytes()
        assert gzip.decompress(gz) == p.read_bytes()  # lossless
        assert gz[4:8] == b"\0\0\0\0" and gz[3] == 0  # mtime 0, no file name: deterministic
    assert not list((dst / "splits").glob("*.json"))  # split files are not copied
    sums = (dst / "splits" / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 2 and all(len(ln.split("  ")[0]) == 64 for ln in sums)
    # publishing again changes nothing
    before = {p: p.read_bytes() for p in dst.rglob("*") if p.is_file()}
    counts = mod.publish(src, dst, grid=str(whole))
    assert counts["written"] == 0 and counts["missing"] == 2
    assert {p: p.read_bytes() for p in dst.rglob("*") if p.is_file()} == before

    # the report from the published folder is the report from the original one
    # (the original, read against the same whole grid)
    (src / "config.json").write_bytes((dst / "config.json").read_bytes())
    for folder in (src, dst):
        assert main(["report", str(folder), "-o", str(folder / "rep"), "--no-figures"]) == 0
    a, b = ((f / "rep" / "report.md").read_text(encoding="utf-8") for f in (src, dst))
    assert "Cells not run yet" in b and _strip(a) == _strip(b)

    # the split files come back byte for byte from their specs
    res = mod.regenerate_splits(dst)
    assert len(res["ok"]) == 2 and not res["mismatch"] and not res["no_spec"]
    for ln in sums:
        digest, name = ln.split("  ")
        assert (dst / "splits" / name).read_bytes() == (src / "splits" / name).read_bytes()
    assert mod.regenerate_splits(dst)["present"] == sorted(n.split("  ")[1] for n in sums)
    # a tampered split file is found
    name = sums[0].split("  ")[1]
    (dst / "splits" / name).write_text(json.dumps({"x": 1}))
    assert mod.main(["splits", str(dst)]) == 1
    # bad input: one line, exit 2
    assert mod.main(["splits", str(tmp_path)]) == 2
    assert mod.main(["publish", str(tmp_path / "nowhere"), str(dst)]) == 2


def _fake_src(tmp_path):
    """A small results folder from the bench runner's test stand-ins (no data needed)."""
    from cliffkit.bench import GridConfig, run_grid

    path = Path(__file__).resolve().parents[1] / "bench" / "test_runner.py"
    spec = importlib.util.spec_from_file_location("_fake_runner", path)
    fake = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fake)
    cfg = GridConfig.from_dict(
        {"name": "fake", "seeds": [0, 1], "splits": ["cliff"], "backbones": ["mlp"],
         "losses": ["plain"], "datasets": [{"name": "qm9", "targets": ["gap"]}]},
        check_names=False)
    run_grid(cfg, tmp_path / "src", show_progress=False, cell_fn=fake.fake_cell,
             split_fn=fake.fake_split)
    return cfg, tmp_path / "src"


def _one_line_error(capsys, start="publish_results: error: "):
    err = capsys.readouterr().err
    assert err.startswith(start) and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_publish_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    """Issue 20c: every bad input is a one-line error (exit 2), checked before anything is
    copied, so that DST is never half-published."""
    mod = _script()
    cfg, src = _fake_src(tmp_path)
    dst = tmp_path / "dst"
    (tmp_path / "afile").write_text("x")
    (tmp_path / "other.toml").write_text('name = "o"\nseeds = [5]\nsplits = ["random"]\n'
                                         'backbones = ["svm"]\nlosses = ["plain"]\n[[datasets]]\n'
                                         'name = "esol"\ntargets = ["logS"]\n')
    cases = [
        (["--grid", "nosuchgrid"], "--grid nosuchgrid"),
        (["--grid", str(tmp_path / "nonexist.toml")], "--grid "),
        (["--grid", str(tmp_path / "other.toml")], "belongs to the grid"),  # 0 cells match
        (["--compare", str(src)], "--compare is passed to the report: add --report"),
        (["--compare-label", "x"], "--compare-label is passed to the report"),
        (["--report", "--compare-label", "x"], "add --compare DIR"),
        (["--report", "--compare", str(tmp_path)], "is not a 'cliffkit bench' results folder"),
    ]
    for extra, text in cases:
        assert mod.main(["publish", str(src), str(dst), *extra]) == 2, extra
        assert text in _one_line_error(capsys), extra
        assert not dst.exists(), extra  # nothing written
    assert mod.main(["publish", str(src), str(tmp_path / "afile")]) == 2
    assert "is a file" in _one_line_error(capsys)
    # a malformed cell or split log in SRC: one line naming it, nothing written
    cell = src / "cells" / f"{cfg.cells()[0].key}.json"
    good = cell.read_text()
    for text in ("null", good[: len(good) // 2]):
        cell.write_text(text)
        assert mod.main(["publish", str(src), str(dst)]) == 2
        assert cell.name in _one_line_error(capsys) and not dst.exists()
    cell.write_text(good)
    log = next((src / "splits" / "logs").glob("*.json"))
    log_text = log.read_text()
    log.write_text("{")
    assert mod.main(["publish", str(src), str(dst)]) == 2
    assert log.name in _one_line_error(capsys) and not dst.exists()
    log.write_text(log_text)

    # a good publish; then a corrupt split log or SHA256SUMS line in DST for 'splits'
    assert mod.main(["publish", str(src), str(dst)]) == 0
    capsys.readouterr()
    sums = dst / "splits" / "SHA256SUMS"
    name = sums.read_text().splitlines()[0].split("  ")[1]
    (dst / "splits" / "logs" / name).write_text("{")
    assert mod.main(["splits", str(dst)]) == 2
    assert name in _one_line_error(capsys)
    sums.write_text(sums.read_text() + "not a checksum line\n")
    assert mod.main(["splits", str(dst)]) == 2
    assert "line 3 is not" in _one_line_error(capsys)


def test_publish_warns_for_a_cell_without_predictions(tmp_path, capsys):
    mod = _script()
    cfg, src = _fake_src(tmp_path)
    (src / "cells" / f"{cfg.cells()[0].key}.predictions.csv").unlink()
    assert mod.main(["publish", str(src), str(tmp_path / "dst")]) == 0
    err = capsys.readouterr().err
    assert "warning: 1 finished cell(s)" in err and "no predictions file" in err


def test_republish_is_a_no_op_and_carries_split_checksums(tmp_path, capsys):
    """Re-publishing with --report leaves an unchanged report's bytes (its "created" time
    included); publishing a published folder carries SHA256SUMS and the split logs over."""
    mod = _script()
    _, src = _fake_src(tmp_path)
    dst = tmp_path / "dst"
    assert mod.main(["publish", str(src), str(dst), "--report", "--title", "t"]) == 0
    before = {p: p.read_bytes() for p in dst.rglob("*") if p.is_file()}
    assert (dst / "report" / "report.md").is_file()
    import time

    time.sleep(1.1)  # the next report's "created" second differs
    assert mod.main(["publish", str(src), str(dst), "--report", "--title", "t"]) == 0
    assert {p: p.read_bytes() for p in dst.rglob("*") if p.is_file()} == before
    # a published folder published again (e.g. into a fresh checkout) keeps its split list
    again = tmp_path / "again"
    assert mod.main(["publish", str(dst), str(again)]) == 0
    assert (again / "splits" / "SHA256SUMS").read_bytes() == (dst / "splits" / "SHA256SUMS").read_bytes()
    assert sorted(p.name for p in (again / "splits" / "logs").iterdir()) == \
        sorted(p.name for p in (dst / "splits" / "logs").iterdir())
