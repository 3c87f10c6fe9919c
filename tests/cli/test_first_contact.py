"""Issue 15: first contact with the CLI, and split files that remember a user's file."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from cliffkit.cli import app, main

pytestmark = pytest.mark.cli


def test_bare_cliffkit_prints_help(capsys):
    assert main([]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("Usage: cliffkit") and "--target-col" in out.out
    assert out.err == ""


def test_every_command_has_quiet_and_verbose():
    for name, cmd in app.commands.items():
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert {"--quiet", "--verbose"} <= opts, name


def test_target_and_target_col_help_say_which_is_which(capsys):
    for cmd in ("split", "train", "evaluate", "weights"):
        assert main([cmd, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "--target-col" in text and "--target " in text
        assert "Not to be confused with --target" in text


@pytest.fixture(scope="module")
def user_file(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("first_contact")
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:150]
    data = root / "assay.csv"
    pd.DataFrame({"Structure": src["smiles"], "pKi": src["exp"], "batch": 7}).to_csv(data, index=False)
    split = root / "split.json"
    assert main(["split", str(data), "--smiles-col", "Structure", "--target-col", "pKi",
                 "--unit", "pKi", "--method", "random", "-o", str(split), "--quiet"]) == 0
    return root, data, split


def test_split_records_the_file(user_file):
    root, data, split = user_file
    rec = json.loads(split.read_text())["dataset"]
    assert rec["path"] == str(data.resolve()) and rec["path_as_given"] == str(data)
    assert rec["smiles_col"] == "Structure" and rec["target_cols"] == ["pKi"]
    assert rec["units"] == ["pKi"] and rec["standardize"] == "keep"


def test_registered_split_records_nothing_new(tmp_path):
    out = tmp_path / "s.json"
    assert main(["split", "freesolv", "--method", "random", "-o", str(out), "--quiet"]) == 0
    assert set(json.loads(out.read_text())["dataset"]) == {"name", "checksum", "n_samples"}


def test_train_from_another_folder_and_moved_file(user_file, tmp_path, monkeypatch, capsys):
    root, data, split = user_file
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    assert main(["train", "--split", str(split), "--backbone", "lgbm", "--param",
                 "n_estimators=20", "-o", str(run)]) == 0
    out = capsys.readouterr().out
    assert "pKi" in out.splitlines()[1]  # metrics in the recorded unit
    assert "LGBMBackbone(" not in out  # the repr only with --verbose
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["unit"] == "pKi" and cfg["dataset"]["smiles_col"] == "Structure"
    moved = tmp_path / "moved.csv"
    shutil.copy(data, moved)
    data.rename(root / "gone.csv")
    try:
        assert main(["evaluate", str(split), str(run / "predictions.csv")]) == 2
        err = capsys.readouterr().err
        assert str(data.resolve()) in err and "--dataset" in err and err.count("\n") == 1
        assert main(["evaluate", str(split), str(run / "predictions.csv"), "--dataset",
                     str(moved), "--n-bootstrap", "0", "--quiet"]) == 0
        assert capsys.readouterr().out == ""
        assert main(["weights", "--split", str(split), "--dataset", str(moved), "-o",
                     str(tmp_path / "w.csv"), "--quiet"]) == 0
    finally:
        (root / "gone.csv").rename(data)
    # a report from an 'evaluate -o' file alone (issue 15, item 2)
    evals = tmp_path / "evals"
    assert main(["evaluate", str(split), str(run / "predictions.csv"), "--n-bootstrap", "0",
                 "-o", str(evals / "lgbm.json"), "--quiet"]) == 0
    assert main(["report", str(evals), "-o", str(tmp_path / "rep"), "--no-figures",
                 "--quiet"]) == 0
    md = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert "| lgbm | 1 |" in md and "assay/pKi" in md and "Paper claims" not in md


def test_unit_refused_for_registered_dataset(capsys):
    assert main(["describe", "esol", "--unit", "mol/L"]) == 2
    assert "--unit applies to a file" in capsys.readouterr().err


def test_neighbors_needs_no_target(tmp_path, capsys):
    f = tmp_path / "mols.csv"
    pd.DataFrame({"smiles": ["CCO", "CCCO", "CCCCO", "c1ccccc1"],
                  "name": ["a", "b", "c", "d"]}).to_csv(f, index=False)
    out = tmp_path / "nb.csv"
    assert main(["neighbors", str(f), "-k", "2", "--min-sim", "0", "--no-cache", "-o", str(out),
                 "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert len(pd.read_csv(out)) == 8


def test_evaluate_other_dataset_predictions(user_file, tmp_path, capsys):
    root, data, split = user_file
    frame = pd.read_csv(data)
    smiles = json.loads(split.read_text())["smiles"]
    # the test molecules' index with the SMILES of other rows: predictions for other data
    test = json.loads(split.read_text())["test"]
    other = smiles["train"][: len(test)]
    preds = tmp_path / "p.csv"
    pd.DataFrame({"index": test, "smiles": other, "prediction": 1.0}).to_csv(preds, index=False)
    assert len(frame) == 150
    assert main(["evaluate", str(split), str(preds), "--n-bootstrap", "0"]) == 2
    err = capsys.readouterr().err
    assert "these predictions do not match this split's data" in err
    assert "drop" not in err


def test_an_output_path_the_file_system_refuses_is_one_line_not_a_traceback(user_file, tmp_path,
                                                                             capsys):
    # fresh-user trial 4: '-o file.csv/out.json' (a folder that cannot be made) or a read-only
    # folder gave a Python traceback (FileExistsError / NotADirectoryError) and exit code 1
    root, data, split = user_file
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder\n", encoding="utf-8")
    capsys.readouterr()
    for argv, named in (
        (["split", str(data), "--smiles-col", "Structure", "--target-col", "pKi", "--method",
          "random", "-o", str(blocker / "s.json")], blocker),
        (["weights", "--split", str(split), "-o", str(blocker / "sub" / "w.csv")], blocker),
        (["neighbors", str(data), "--smiles-col", "Structure", "--target-col", "pKi", "-o",
          str(blocker / "nn.parquet")], blocker),
    ):
        assert main([*argv, "--quiet"]) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("cliffkit: error: cannot use "), err
        assert str(named) in err[0] and "choose another path" in err[0]
        assert not (blocker / "s.json").exists()


def test_os_error_message_names_the_path_and_the_fix():
    import errno

    from cliffkit.cli import os_error_message

    msg = os_error_message(PermissionError(errno.EACCES, "Permission denied", "/data/ro/s.json"))
    assert msg == ("cannot use '/data/ro/s.json': Permission denied; no permission (a read-only "
                   "folder?); choose a folder you can write to.")
    assert "disk is full" in os_error_message(OSError(errno.ENOSPC, "No space left", "x.csv"))
