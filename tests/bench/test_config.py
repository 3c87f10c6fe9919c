"""Grid config: schema validation, shipped configs, stable cell keys, round trip."""

from __future__ import annotations

import hashlib
import json

import pytest

from cliffkit.bench import Cell, GridConfig, list_configs, load_config
from cliffkit.bench._config import canonical_json
from cliffkit.errors import ConfigError


def _base(**over):
    data = {
        "name": "t",
        "seeds": [0, 1],
        "splits": ["cliff", "random"],
        "backbones": ["mlp", "lgbm"],
        "losses": ["plain", "cliff"],
        "datasets": [{"name": "esol", "targets": ["y"]}],
    }
    data.update(over)
    return data


def test_cells_are_the_full_product():
    cfg = GridConfig.from_dict(_base(), check_names=False)
    cells = cfg.cells()
    assert len(cells) == 1 * 2 * 2 * 2 * 2
    assert len({c.key for c in cells}) == len(cells)
    # one split per (dataset, target, method, seed), shared by backbones and losses
    assert len(cfg.split_specs()) == 2 * 2


def test_cell_key_is_prefix_plus_hash_of_canonical_json():
    cell = Cell(dataset="esol", target="y", subsample=None, subsample_seed=0, split="cliff",
                split_params={"test_size": 0.1}, backbone="mlp", backbone_params={"max_epochs": 3},
                loss="cliff", loss_params={"lam": 0.5}, seed=2, evaluation={"n_bootstrap": 100})
    expected = hashlib.sha256(
        json.dumps(cell.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()[:12]
    assert cell.key == f"esol-y-cliff-mlp-cliff-s2-{expected}"
    # parameter order does not matter; a parameter value does
    same = Cell(**{**cell.__dict__, "split_params": {"test_size": 0.1},
                   "backbone_params": dict(reversed(list({"max_epochs": 3}.items())))})
    assert same.key == cell.key
    other = Cell(**{**cell.__dict__, "loss_params": {"lam": 0.6}})
    assert other.key != cell.key
    assert other.key.startswith("esol-y-cliff-mlp-cliff-s2-")


def test_keys_stable_across_loads_and_param_tables_reach_cells():
    data = _base(backbone_params={"mlp": {"max_epochs": 5}}, loss_params={"cliff": {"lam": 1.0}})
    a = GridConfig.from_dict(data, check_names=False)
    b = GridConfig.from_dict(json.loads(json.dumps(data)), check_names=False)
    assert [c.key for c in a.cells()] == [c.key for c in b.cells()]
    mlp_cliff = [c for c in a.cells() if c.backbone == "mlp" and c.loss == "cliff"]
    assert all(c.backbone_params == {"max_epochs": 5} and c.loss_params == {"lam": 1.0}
               for c in mlp_cliff)
    lgbm_plain = [c for c in a.cells() if c.backbone == "lgbm" and c.loss == "plain"]
    assert all(c.backbone_params == {} and c.loss_params == {} for c in lgbm_plain)


def test_round_trip_to_dict():
    cfg = GridConfig.from_dict(_base(split_params={"cliff": {"test_size": 0.2}}), check_names=False)
    again = GridConfig.from_dict(cfg.to_dict(), check_names=False)
    assert again.to_dict() == cfg.to_dict()
    assert canonical_json(again.to_dict()) == canonical_json(cfg.to_dict())


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"backbone": ["mlp"]}, r"Unknown key 'backbone'.*Did you mean 'backbones'"),
        ({"splits": ["clif"]}, r"split method 'clif'.*cliff, predefined, random, scaffold.*Did you mean 'cliff'"),
        ({"seeds": [0, 0]}, r"'seeds' lists a seed twice"),
        ({"seeds": []}, r"'seeds' must be a non-empty list"),
        ({"losses": "plain"}, r"'losses' must be a list"),
        ({"datasets": [{"name": "esol", "target": ["y"]}]}, r"datasets\[0\].*Unknown key 'target'.*'targets'"),
        ({"datasets": [{"name": "esol", "targets": ["y"], "subsample": 3}]}, r"'subsample' must be an int >= 10"),
        ({"loss_params": {"clif": {"lam": 1}}}, r"\[loss_params\].*Unknown loss 'clif'.*Did you mean 'cliff'"),
        ({"evaluation": {"n_boot": 10}}, r"\[evaluation\].*Unknown key 'n_boot'.*n_bootstrap"),
    ],
)
def test_schema_errors_name_the_key(over, match):
    with pytest.raises(ConfigError, match=match):
        GridConfig.from_dict(_base(**over), check_names=False)


def test_missing_required_key():
    data = _base()
    del data["seeds"]
    with pytest.raises(ConfigError, match="required key 'seeds' is missing"):
        GridConfig.from_dict(data, check_names=False)


def test_unknown_backbone_and_loss_names_checked_against_registries():
    with pytest.raises(ConfigError, match=r"Unknown backbone 'gnn'.*Did you mean 'gin'"):
        GridConfig.from_dict(_base(backbones=["gnn"]))
    with pytest.raises(ConfigError, match=r"Unknown loss 'cliff_adaptive'.*cliff-adaptive"):
        GridConfig.from_dict(_base(backbones=["mlp"], losses=["cliff_adaptive"]))
    with pytest.raises(ConfigError, match=r"Unknown dataset 'lipo'.*lipophilicity"):
        GridConfig.from_dict(_base(backbones=["mlp"], datasets=[{"name": "lipo"}]))
    with pytest.raises(ConfigError, match=r"\[loss_params.cliff\].*parameter of loss 'cliff' 'lamda'.*Did you mean 'lam'"):
        GridConfig.from_dict(_base(backbones=["mlp"], datasets=[{"name": "esol"}],
                                   loss_params={"cliff": {"lamda": 1.0}}))
    with pytest.raises(ConfigError, match=r"\[backbone_params.mlp\].*'epoch'.*Did you mean 'epochs'"):
        GridConfig.from_dict(_base(backbones=["mlp"], datasets=[{"name": "esol"}],
                                   backbone_params={"mlp": {"epoch": 3}}))


def test_load_config_file_and_errors(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text(
        'name = "g"\nseeds = [0]\nsplits = ["random"]\nbackbones = ["mlp"]\nlosses = ["plain"]\n'
        '[[datasets]]\nname = "esol"\ntargets = ["y"]\n', encoding="utf-8")
    cfg = load_config(path, check_names=False)
    assert cfg.name == "g" and len(cfg.cells()) == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("seeds = [0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, check_names=False)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"Unknown grid config 'demoo'.*Did you mean 'demo'"):
        load_config("demoo")


def test_shipped_configs_are_valid():
    assert {"smoke", "demo", "quick", "paper"} <= set(list_configs())
    demo = load_config("demo")
    assert [d.name for d in demo.datasets] == ["lipophilicity"]
    assert set(demo.splits) == {"cliff", "random"}
    assert set(demo.backbones) == {"mlp", "lgbm", "gin"}
    assert set(demo.losses) == {"plain", "cliff"} and len(demo.seeds) == 3
    quick = load_config("quick")
    tasks = {(d.name, t) for d in quick.datasets for t in d.targets}
    assert {("qm9", "homo"), ("qm9", "lumo"), ("qm9", "gap")} <= tasks
    assert {d.name for d in quick.datasets} == {"qm9", "esol", "freesolv", "lipophilicity"}
    assert next(d for d in quick.datasets if d.name == "qm9").subsample is not None
    assert len(quick.backbones) == 5
    paper = load_config("paper")
    assert next(d for d in paper.datasets if d.name == "qm9").subsample is None
    smoke = load_config("smoke")
    assert len(smoke.cells()) <= 8


def test_qm9_full_config_is_the_issue_20_grid():
    full = load_config("qm9-full")
    (qm9,) = full.datasets
    assert qm9.name == "qm9" and qm9.subsample is None  # every molecule
    assert qm9.targets == ("homo", "lumo", "gap")
    assert full.splits == ["cliff", "random"] and full.seeds == [0, 1, 2]
    assert full.backbones == ["lgbm", "mlp"]  # svm does not scale (its kernel: 87.5 GB)
    assert full.losses == ["plain", "cliff", "lds"]
    assert full.backbone_params == {}  # the default budgets
    assert len(full.cells()) == 108 and len(full.split_specs()) == 18


def test_qm9_3k_config_is_qm9_full_on_quicks_subsample():
    """Only the subsample differs from qm9-full, and it is quick's (3,000 molecules, seed 0)."""
    full, small, quick = load_config("qm9-full"), load_config("qm9-3k"), load_config("quick")
    (qm9,) = small.datasets
    quick_qm9 = next(d for d in quick.datasets if d.name == "qm9")
    assert (qm9.subsample, qm9.subsample_seed) == (3000, 0)
    assert (qm9.subsample, qm9.subsample_seed) == (quick_qm9.subsample, quick_qm9.subsample_seed)
    a, b = full.to_dict(), small.to_dict()
    for d in (a, b):
        d.pop("name"), d.pop("description")
    b["datasets"][0]["subsample"] = None
    assert a == b
    # same cells but for the subsample: the cells' settings match one to one
    strip = [{**c.to_dict(), "subsample": None} for c in small.cells()]
    assert strip == [c.to_dict() for c in full.cells()]


def test_params_table_of_a_registered_name_outside_the_grid_says_so():
    # 'svm' is a registered backbone, only not in this grid: the message says that, not "unknown"
    data = _base(backbone_params={"svm": {"C": 1.0}})
    with pytest.raises(ConfigError, match=r"\[backbone_params\.svm\]: backbone 'svm' is not in this "
                                          r"grid's 'backbones' \(mlp, lgbm\); add it there"):
        GridConfig.from_dict(data, check_names=False)
    data = _base(loss_params={"lds": {"beta": 0.5}})
    with pytest.raises(ConfigError, match=r"loss 'lds' is not in this grid's 'losses'"):
        GridConfig.from_dict(data, check_names=False)
    with pytest.raises(ConfigError, match=r"Unknown backbone 'svn'"):
        GridConfig.from_dict(_base(backbone_params={"svn": {}}), check_names=False)


def test_pool_workers_ignore_sigint():
    # Ctrl-C reaches the whole process group; the parent stops the workers, so workers must not
    # raise KeyboardInterrupt (and print tracebacks) themselves
    import subprocess
    import sys

    code = ("import signal; from cliffkit.bench._executor import _limit_threads; _limit_threads(1); "
            "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("over", "match"),
    [
        # found by the fresh-user trial: each passed validation and --dry-run, then every
        # cell of the grid failed with the same message
        ({"backbone_params": {"mlp": {"epochs": 0}}},
         r"table \[backbone_params.mlp\]: The 'epochs' parameter of MLPBackbone must be an int in \[1, inf\]; got 0"),
        ({"backbone_params": {"lgbm": {"n_estimators": 0}}},
         r"\[backbone_params.lgbm\]: The 'n_estimators' parameter"),
        ({"loss_params": {"cliff": {"lam": -1.0}}},
         r"table \[loss_params.cliff\]: The 'lam' parameter.*got -1.0"),
        ({"loss_params": {"cliff": {"lam": "0.1"}}}, r"\[loss_params.cliff\]: The 'lam' parameter.*got '0.1'"),
        ({"losses": ["plain", "lds"], "loss_params": {"lds": {"lam": 3.0}}},
         r"\[loss_params.lds\]: Loss 'lds' has no cliff weights"),
        # review h42 f7: a parameter group the loss does not read was dropped silently
        ({"loss_params": {"cliff": {"adaptive_params": {"gain": 3.0}}}},
         r"\[loss_params.cliff\]: Loss 'cliff' does not read adaptive_params"),
        ({"losses": ["plain", "cliff-adaptive"],
          "loss_params": {"cliff-adaptive": {"adaptive_params": {"lam0": 1.0}}}},
         r"\[loss_params.cliff-adaptive\]: adaptive_params has no parameter 'lam0'.*accepted: min_lam"),
        ({"split_params": {"cliff": {"min_similarity": 1.5}}},
         r"table \[split_params.cliff\]: The 'min_similarity' parameter of CliffSplit.*got 1.5"),
        ({"split_params": {"random": {"test_size": 0}}}, r"\[split_params.random\]: The 'test_size'"),
        ({"split_params": {"cliff": {"min_sim": 0.5}}},
         r"\[split_params.cliff\]: Unknown parameter of split method 'cliff' 'min_sim'.*Did you mean 'min_similarity'"),
    ],
)
def test_parameter_values_are_checked_before_any_cell(over, match):
    with pytest.raises(ConfigError, match=match):
        GridConfig.from_dict(_base(datasets=[{"name": "esol"}], **over))


def test_file_dataset_columns_are_checked_before_any_cell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.csv").write_text("SMILES,pKi\nCCO,5.0\nCCCO,6.0\n", encoding="utf-8")
    entry = {"name": "mine.csv", "smiles_col": "SMILES", "targets": ["pKi"]}
    GridConfig.from_dict(_base(datasets=[entry]))
    with pytest.raises(ConfigError, match=r"datasets\[0\] key 'smiles_col': SMILES column 'smi' is not in mine.csv"):
        GridConfig.from_dict(_base(datasets=[{**entry, "smiles_col": "smi"}]))
    with pytest.raises(ConfigError, match=r"datasets\[0\] key 'targets': Target column 'pIC50' is not in"):
        GridConfig.from_dict(_base(datasets=[{**entry, "targets": ["pIC50"]}]))


@pytest.mark.parametrize(
    ("over", "match"),
    [
        # found by the fresh-user trial: the first two were silently ignored (the unit) or
        # silently the whole dataset (the subsample), the third failed every cell
        ({"datasets": [{"name": "esol", "unit": "pKi"}]},
         r"datasets\[0\]: 'unit' applies to a file; 'esol' is a registered dataset"),
        ({"datasets": [{"name": "esol", "subsample": 5000}]},
         r"datasets\[0\] key 'subsample': 5,000 is not smaller than the 1,117 molecules of 'esol'"),
        # every seed got the same split (byte-identical split files)
        ({"split_params": {"cliff": {"random_state": 3}}, "datasets": [{"name": "esol"}]},
         r"\[split_params.cliff\]: 'random_state' would give every seed of the grid the same split"),
        ({"backbone_params": {"lgbm": {"random_state": 3}}, "datasets": [{"name": "esol"}]},
         r"\[backbone_params.lgbm\]: 'random_state' would give every seed"),
        ({"datasets": [{"name": "esol", "subsample_seed": 1}]},
         r"datasets\[0\]: 'subsample_seed' applies with 'subsample'"),
        ({"splits": ["predefined"], "datasets": [{"name": "esol"}]},
         r"split 'predefined' needs exactly one source.*\[split_params.predefined\].*got none"),
    ],
)
def test_dataset_and_split_mistakes_fail_before_any_cell(over, match):
    with pytest.raises(ConfigError, match=match):
        GridConfig.from_dict(_base(**over))


def test_file_subsample_must_be_smaller_than_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = "".join(f"{'C' * (i + 1)}O,{i}.0\n" for i in range(12))
    (tmp_path / "mine.csv").write_text("smiles,pKi\n" + rows, encoding="utf-8")
    entry = {"name": "mine.csv", "smiles_col": "smiles", "targets": ["pKi"]}
    GridConfig.from_dict(_base(datasets=[{**entry, "subsample": 10}]))
    with pytest.raises(ConfigError, match=r"12 data rows of 'mine.csv'"):
        GridConfig.from_dict(_base(datasets=[{**entry, "subsample": 12}]))


def test_a_data_file_given_as_config_says_so(tmp_path):
    """'cliffkit bench --config my.csv' said 'not valid CSV: Expected '=' after a key'
    (it was parsed as TOML); found by the fresh-user trial."""
    data = tmp_path / "my.csv"
    data.write_text("smiles,pKi\nCCO,5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"looks like a data file: give it as the argument "
                                          r"instead of --config \(cliffkit bench .*my.csv"):
        load_config(data)


def test_missing_dataset_file_says_paths_are_relative_to_the_working_folder(tmp_path,
                                                                            monkeypatch):
    """A config run from another folder: 'does not exist' now says where paths are resolved
    and points at the file beside the config (found by the fresh-user trial)."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "mine.csv").write_text("smiles,pKi\nCCO,5.0\nCCCO,6.0\n", encoding="utf-8")
    (conf / "g.toml").write_text(
        'name = "g"\nseeds = [0]\nsplits = ["random"]\nbackbones = ["lgbm"]\nlosses = ["plain"]\n'
        '[[datasets]]\nname = "mine.csv"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"does not exist; paths are relative to the folder you "
                                          r"run cliffkit from .*there is a '.*conf/mine.csv'"):
        load_config(conf / "g.toml")


def _real(**over):  # _base with esol's real target, so the registries can check names
    return _base(datasets=[{"name": "esol", "targets": ["logS"]}], **over)


def test_a_loss_a_backbone_cannot_train_fails_when_the_config_loads():
    """cliff-pair on LightGBM failed in every such cell at run time (the shipped 'paper'
    grid had it); now the config names the combinations and how to leave them out."""
    data = _real(losses=["plain", "cliff-pair"])
    with pytest.raises(ConfigError, match=r"\(lgbm, cliff-pair\).*'exclude' in a config"):
        GridConfig.from_dict(data)
    cfg = GridConfig.from_dict({**data, "exclude": [{"backbone": "lgbm", "loss": "cliff-pair"}]})
    combos = {(c.backbone, c.loss) for c in cfg.cells()}
    assert combos == {("mlp", "plain"), ("mlp", "cliff-pair"), ("lgbm", "plain")}
    assert len(cfg.cells()) == 3 * 2 * 2  # 3 combinations x 2 splits x 2 seeds
    again = GridConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert [c.key for c in again.cells()] == [c.key for c in cfg.cells()]
    assert {c.key for c in cfg.cells()} <= {c.key for c in GridConfig.from_dict(
        data, check_names=False).cells()}  # the cells kept are the same cells


def test_a_grid_without_exclude_keeps_its_recorded_form():
    assert "exclude" not in GridConfig.from_dict(_real()).to_dict()


@pytest.mark.parametrize("entry, match", [
    ({"backbone": "svm"}, r"backbone 'svm' is not in this grid's 'backbones'"),
    ({"los": "cliff"}, r"Did you mean 'loss'"),
    ({}, r"non-empty table"),
    ("lgbm", r"non-empty table"),
])
def test_exclude_entries_that_would_leave_out_nothing_are_errors(entry, match):
    with pytest.raises(ConfigError, match=match):
        GridConfig.from_dict(_real(exclude=[entry]))


def test_shipped_paper_grid_leaves_lgbm_cliff_pair_out():
    paper = load_config("paper")
    assert not any(c.backbone == "lgbm" and c.loss == "cliff-pair" for c in paper.cells())
    assert any(c.backbone == "mlp" and c.loss == "cliff-pair" for c in paper.cells())


def _two_target_file(path, smiles: list[str]) -> None:
    """A file with a SMILES column and two numeric columns (so no target is detected)."""
    rows = "".join(f"{s},{i}.0,{2 * i}.5\n" for i, s in enumerate(smiles))
    path.write_text("smiles,pKi,logP\n" + rows, encoding="utf-8")


def test_file_targets_without_smiles_col_are_used(tmp_path, monkeypatch):
    """Review h34 F2: an entry naming 'targets' but not 'smiles_col' (the tutorial's
    pattern) was refused with 'several numeric columns; choose the target(s) with
    target_cols / --target-col' (the file was loaded without its targets)."""
    import warnings

    from cliffkit.bench._cell import load_task

    monkeypatch.chdir(tmp_path)
    _two_target_file(tmp_path / "mine.csv", [f"{'C' * (i + 1)}O" for i in range(12)])
    cfg = GridConfig.from_dict(_base(datasets=[{"name": "mine.csv", "targets": ["logP"]}]))
    assert {c.target for c in cfg.cells()} == {"logP"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        task = load_task("mine.csv", "logP", 10)  # what a cell loads
    assert task.target_names == ["logP"] and len(task) == 10
    # without 'targets' the error names the grid's key, not the Python / CLI option
    with pytest.raises(ConfigError, match=r"datasets\[0\]: mine.csv has several numeric columns "
                                          r".*choose the target\(s\) with the \[\[datasets\]\] "
                                          r"key 'targets'\.$") as err:
        GridConfig.from_dict(_base(datasets=[{"name": "mine.csv"}]))
    assert "target_cols" not in str(err.value)
    with pytest.raises(ConfigError, match=r"datasets\[0\] key 'targets': Target column 'pIC50'"):
        GridConfig.from_dict(_base(datasets=[{"name": "mine.csv", "targets": ["pIC50"]}]))


@pytest.mark.parametrize(
    ("smiles", "subsample", "match"),
    [
        # 14 rows, 3 invalid SMILES: 11 molecules
        ([f"{'C' * (i + 1)}O" for i in range(11)] + ["not_a_smiles"] * 3, 11,
         r"11 is not smaller than the 11 usable molecules of 'mine.csv' for target 'pKi' "
         r"\(14 data rows; 3 rows dropped \(invalid_smiles\)\)"),
        # 14 rows, 2 written twice: 12 molecules
        ([f"{'C' * (i + 1)}O" for i in range(12)] + ["CO", "OCC"], 13,
         r"13 is not smaller than the 12 usable molecules .*2 duplicate rows merged"),
    ],
)
def test_file_subsample_must_be_smaller_than_its_molecules(tmp_path, monkeypatch, smiles,
                                                           subsample, match):
    """Review h34 F4: a subsample below the file's rows but not below its usable molecules
    passed the config check and every cell silently used the whole dataset while its key,
    JSON and report said 'subsample N'."""
    monkeypatch.chdir(tmp_path)
    _two_target_file(tmp_path / "mine.csv", smiles)
    entry = {"name": "mine.csv", "smiles_col": "smiles", "targets": ["pKi"]}
    GridConfig.from_dict(_base(datasets=[{**entry, "subsample": 10}]))
    with pytest.raises(ConfigError, match=r"datasets\[0\] key 'subsample': " + match):
        GridConfig.from_dict(_base(datasets=[{**entry, "subsample": subsample}]))


def test_cell_refuses_a_subsample_not_smaller_than_the_data(tmp_path, monkeypatch):
    """Review h34 F4, at cell time (a MoleculeACE set's size is known only there): the task
    load refuses instead of returning every molecule as 'subsample N'."""
    import warnings

    from cliffkit.bench._cell import load_task

    monkeypatch.chdir(tmp_path)
    _two_target_file(tmp_path / "mine.csv", [f"{'C' * (i + 1)}O" for i in range(11)] + ["x1"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(load_task("mine.csv", "pKi", 10, smiles_col="smiles")) == 10
        with pytest.raises(ConfigError, match=r"\[\[datasets\]\] entry 'mine.csv' key 'subsample': "
                                              r"11 is not smaller than the 11 usable molecules"):
            load_task("mine.csv", "pKi", 11, smiles_col="smiles")
