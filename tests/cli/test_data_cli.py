"""`cliffkit datasets`, `cliffkit describe` and the dataset-argument helpers."""

from __future__ import annotations

import gzip
import json
import math

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from cliffkit.cli import main
from cliffkit.cli._data import dataset_options, load_from_cli

pytestmark = pytest.mark.cli


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_error(rc, err, pattern):
    import re

    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cliffkit: error: ")
    assert "Traceback" not in err
    assert re.search(pattern, lines[0]), lines[0]


def test_datasets_table(capsys):
    rc, out, err = run(capsys, "datasets")
    assert rc == 0, err
    for word in ("esol", "freesolv", "lipophilicity", "qm9", "moleculeace:<name>", "log10(mol/L)",
                 "kcal/mol", "logD", "130,744", "1,117", "cal/(mol K)"):
        assert word in out


def test_datasets_json(capsys):
    rc, out, _ = run(capsys, "datasets", "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["esol"]["targets"] == ["logS"] and rows["esol"]["n_rows"] == 1128
    assert rows["qm9"]["units"][4] == "eV"


def test_describe_bundled(capsys):
    rc, out, err = run(capsys, "describe", "esol")
    assert rc == 0
    assert "1,128" in out and "1,117" in out and "merged duplicates (11 groups)" in out
    assert "234+657" in out and "log10(mol/L)" in out
    assert err.startswith("cliffkit: warning: dataset 'esol'") and "Traceback" not in err


def test_describe_json_matches_library(capsys):
    from cliffkit.data import load_dataset

    rc, out, _ = run(capsys, "describe", "lipophilicity", "--json")
    assert rc == 0
    summary = json.loads(out)
    ds = load_dataset("lipophilicity")
    t = summary["targets"][0]
    assert summary["n_read"] == 4200 and summary["n_final"] == 4200
    assert t["name"] == "logD" and t["unit"] == "logD" and t["count"] == 4200
    assert t["mean"] == pytest.approx(ds.y.mean())
    assert t["std"] == pytest.approx(ds.y.std(ddof=1))
    assert (t["min"], t["max"]) == (-1.5, 4.5)
    assert summary["checksum"] == ds.checksum


def test_describe_file_with_drops(tmp_path, capsys):
    path = tmp_path / "mols.csv"
    path.write_text("SMILES,activity\nCCO,1\nfoo,2\nCCN,\nOCC,3\nc1ccccc1,5\n")
    rc, out, err = run(capsys, "describe", str(path), "--json")
    assert rc == 0
    s = json.loads(out)
    assert s["n_read"] == 5 and s["n_final"] == 2 and s["n_merged_rows"] == 1
    assert s["dropped"]["invalid_smiles"]["first_rows"] == [3]
    assert s["dropped"]["missing_target"]["first_rows"] == [4]
    assert s["targets"][0]["mean"] == pytest.approx(3.5)  # CCO/OCC -> 2, benzene 5
    warn = err.strip().splitlines()  # one line per warning: drops, then the conflict
    assert len(warn) == 2 and all(w.startswith("cliffkit: warning: ") for w in warn)
    assert "dropped 2 of 5 rows: 1 invalid_smiles (line 3); 1 missing_target (line 4)" in warn[0]
    assert "conflicting activity values" in warn[1] and "lines 2+5" in warn[1]


def test_describe_std_of_one_value_is_undefined(tmp_path, capsys):
    # h28 (lower priority): std printed 0 for a single value, which reads as "no spread"
    path = tmp_path / "two.csv"
    path.write_text("smiles,a,b\nCCO,1.5,2\nCCN,,3\n")
    rc, out, _ = run(capsys, "describe", str(path), "--target-col", "a", "--target-col", "b",
                     "--json")
    assert rc == 0
    a, b = json.loads(out)["targets"]
    assert a["count"] == 1 and math.isnan(a["std"]) and b["std"] == pytest.approx(0.70710678)
    rc, out, _ = run(capsys, "describe", str(path), "--target-col", "a", "--target-col", "b")
    row = next(line for line in out.splitlines() if line.startswith("│ a "))
    assert "n/a" in row and " 0 " not in row


def test_describe_small_qm9_in_ev(tmp_path, capsys, data_dir):
    raw = pd.read_csv(data_dir / "qm9.csv.gz", nrows=40)
    (tmp_path / "qm9.csv.gz").write_bytes(gzip.compress(raw.to_csv(index=False).encode()))
    rc, out, err = run(capsys, "describe", "qm9", "--data-dir", str(tmp_path), "--target-col", "gap",
                       "--json")
    assert rc == 0, err
    s = json.loads(out)
    assert [t["name"] for t in s["targets"]] == ["gap"] and s["targets"][0]["unit"] == "eV"
    assert s["targets"][0]["mean"] == pytest.approx(raw["gap"].mean() * 27.211386246)


@pytest.mark.parametrize(
    "content,extra,pattern",
    [
        (None, [], r"not found: .*missing\.csv"),
        (b"", [], r"the file is empty"),
        (b"smiles,y\nCCO,1\n", ["--target-col", "z"],
         r"Target column 'z' is not in .*bad\.csv; available columns: 'smiles', 'y'"),
        (b"smiles,y\nfoo,1\nbar,2\n", [], r"None of the 2 SMILES in column 'smiles' .*line 2: 'foo'"),
        (b"smiles,y,name\nCCO,1,a\n", ["--target-col", "name"],
         r"Target column 'name' of .*bad\.csv holds text, not numbers \(line 2: 'a'\)"),
        (b"smiles;y\nCCO;1\n", [], r"looks semicolon-separated"),
        (b"\x00\x01\x02garbage", [], r"binary data"),
        (b"smiles,y\n\xff\xfe,1\n", [], r"not valid UTF-8"),
    ],
)
def test_describe_bad_input_is_one_line(tmp_path, capsys, content, extra, pattern):
    path = tmp_path / ("missing.csv" if content is None else "bad.csv")
    if content is not None:
        path.write_bytes(content)
    rc, out, err = run(capsys, "describe", str(path), *extra)
    assert_one_line_error(rc, err, pattern)


def test_describe_unknown_name_suggests(capsys):
    rc, _, err = run(capsys, "describe", "freesolve")
    assert_one_line_error(rc, err, r"Unknown dataset 'freesolve'.*Did you mean 'freesolv'\?")


def test_describe_debug_reraises(tmp_path):
    from cliffkit.errors import InvalidDataError

    with pytest.raises(InvalidDataError):
        main(["--debug", "describe", str(tmp_path / "nope.csv")])


def test_dataset_options_and_load_from_cli(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("mol,a,b\nCCO,1,2\nCCN,3,4\n")
    seen = {}

    @click.command()
    @click.argument("dataset")
    @dataset_options
    def cmd(dataset, smiles_col, target_cols, data_dir):
        seen["args"] = (smiles_col, target_cols, data_dir)
        seen["ds"] = load_from_cli(dataset, smiles_col, target_cols, data_dir)

    result = CliRunner().invoke(
        cmd, [str(path), "--smiles-col", "mol", "--target-col", "b", "--target-col", "a"]
    )
    assert result.exit_code == 0, result.output
    assert seen["args"] == ("mol", ("b", "a"), None)
    assert seen["ds"].target_names == ["b", "a"]
    assert seen["ds"].y.tolist() == [[2.0, 1.0], [4.0, 3.0]]
    for opt in ("--smiles-col", "--target-col", "--data-dir"):
        assert opt in CliRunner().invoke(cmd, ["--help"]).output


def test_describe_moleculeace_counts(capsys, data_dir):
    raw = pd.read_csv(data_dir / "moleculeace" / "CHEMBL2034_Ki.csv")
    rc, out, err = run(capsys, "describe", "moleculeace:CHEMBL2034_Ki", "--json")
    assert rc == 0, err
    extra = json.loads(out)["extra"]
    assert extra["n_cliff_mol"] == int(raw["cliff_mol"].sum())
    assert extra["moleculeace_split"] == raw["split"].value_counts().to_dict()


def test_describe_warns_about_a_concentration_unit_once(tmp_path, capsys, data_dir):
    """--unit nM on pKi-like values: one warning line from the unit; nM values: one from the
    values (not a second from the unit)."""
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:40]
    path = tmp_path / "a.csv"
    pd.DataFrame({"smiles": src["smiles"], "p": src["exp"] + 5}).to_csv(path, index=False)
    rc, out, err = run(capsys, "describe", str(path), "--unit", "nM")
    assert rc == 0 and err.count("looks like a concentration") == 1 and "unit 'nM'" in err
    rc, out, err = run(capsys, "describe", str(path), "--unit", "pKi")
    assert rc == 0 and "looks like a concentration" not in err
    pd.DataFrame({"smiles": src["smiles"], "ki": 10 ** (4 - src["exp"])}).to_csv(path, index=False)
    rc, out, err = run(capsys, "describe", str(path), "--unit", "nM")
    assert rc == 0 and err.count("looks like a concentration") == 1 and "span" in err


def test_describe_parquet_names_records_not_file_lines(tmp_path, capsys):
    # Parquet has no header line: its row numbers are 1-based records, and describe and the
    # loader's warnings say so (they said "file line; header = 1" and "line 3")
    pd.DataFrame({"smiles": ["CCO", "CCO", "xx", "CCC"], "y": [1.0, 5.0, 2.0, 3.0]}).to_parquet(
        tmp_path / "d.parquet")
    rc, out, err = run(capsys, "describe", str(tmp_path / "d.parquet"), "--smiles-col", "smiles",
                       "--target-col", "y")
    assert rc == 0, err
    assert "Parquet record, 1-based" in out and "file line" not in out
    assert "merged duplicates (1 group)" in out
    assert "(record 3)" in err and "(records 1+2)" in err and "line" not in err
    rc, out, _ = run(capsys, "describe", str(tmp_path / "d.parquet"), "--smiles-col", "smiles",
                     "--target-col", "y", "--json")
    assert json.loads(out)["row_word"] == "record"
