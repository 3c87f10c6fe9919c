"""User files: standardisation policy and every kind of bad input."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from cliffkit.data import load_dataset, read_table
from cliffkit.errors import (
    DataWarning,
    InvalidDataError,
    InvalidParameterError,
    InvalidSmilesError,
    MissingColumnError,
)

GOOD = "id,smiles,y\na,CCO,1.0\nb,c1ccccc1,2.0\nc,CC(=O)O,3.0\n"


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_drops_and_merges_with_line_numbers(tmp_path):
    text = (
        "name,SMILES,logP,pka\n"   # line 1
        "ethanol,CCO,-0.3,16\n"    # 2
        "bad,C1CC,1.0,2\n"         # 3 invalid SMILES (unclosed ring)
        "water,O,,15.7\n"          # 4 missing logP
        "ethanol2,OCC,-0.1,16\n"   # 5 duplicate of line 2 (merged)
        "x,CCN,abc,10\n"           # 6 text in logP
        ",,1,1\n"                  # 7 missing SMILES
        "benzene,c1ccccc1,2.1,inf\n"  # 8 non-finite pka
        "toluene,Cc1ccccc1,2.7,40\n"  # 9
    )
    path = write(tmp_path, text)
    with pytest.warns(DataWarning) as rec:
        ds = load_dataset(path, target_cols=["logP", "pka"], id_col="name")
    msg = " ".join(str(w.message) for w in rec)
    # A row is dropped only when its SMILES is unusable or no target has a value; a cell
    # missing for one target masks that target only (issue 14, item 3).
    assert "dropped 2 of 8 rows" in msg
    assert "1 invalid_smiles (line 3)" in msg and "1 missing_smiles (line 7)" in msg
    assert "3 target cells are empty or not a finite number" in msg
    assert "'logP': 2 (line 4, 6)" in msg and "'pka': 1 (line 8)" in msg
    rep = ds.report
    assert rep.n_read == 8
    assert {(d.row, d.reason) for d in rep.dropped} == {(3, "invalid_smiles"), (7, "missing_smiles")}
    assert {(d.row, d.reason, d.target) for d in rep.masked} == {
        (4, "missing_target", "logP"), (6, "non_numeric_target", "logP"),
        (8, "non_finite_target", "pka"),
    }
    assert [d.detail for d in rep.masked if d.row == 6] == ["logP='abc'"]
    assert list(ds.smiles) == ["CCO", "O", "CCN", "c1ccccc1", "Cc1ccccc1"]
    np.testing.assert_allclose(
        ds.y, [[-0.2, 16.0], [np.nan, 15.7], [np.nan, 10.0], [2.1, np.nan], [2.7, 40.0]])
    assert ds.labelled("logP").sum() == 3 and ds.labelled("pka").sum() == 4
    assert list(ds.ids) == ["ethanol", "water", "x", "benzene", "toluene"]
    assert [(g.rows, g.values) for g in rep.merged] == [([2, 5], [[-0.3, 16.0], [-0.1, 16.0]])]
    assert rep.n_final == len(ds) == 5
    assert ds.target_names == ["logP", "pka"] and ds.units == ["", ""]
    assert list(ds.meta["source_row"]) == [2, 4, 6, 8, 9]


def test_single_target_rows_without_value_are_dropped(tmp_path):
    path = write(tmp_path, "smiles,y\nCCO,1\nCCN,\nCCC,abc\nCCCC,4\n")
    with pytest.warns(DataWarning, match=r"dropped 2 of 4 rows: 1 non_numeric_target \(line 4"):
        ds = load_dataset(path, target_cols="y")
    assert list(ds.smiles) == ["CCO", "CCCC"] and not ds.report.masked


def test_conflict_tolerance_is_in_target_standard_deviations(tmp_path):
    # y over kept rows: 0, 0.5, 10 -> std (ddof=0) = 4.60; spread of the CCO pair = 0.5
    path = write(tmp_path, "smiles,y\nCCO,0\nOCC,0.5\nCCCC,10\n")
    with pytest.warns(DataWarning, match=r"1 group of duplicate molecules has conflicting"):
        strict = load_dataset(path, conflict_tol=0.1)  # 0.5 > 0.46
    assert strict.report.n_conflicts == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        relaxed = load_dataset(path, conflict_tol=0.2)  # 0.5 <= 0.92
    assert relaxed.report.n_conflicts == 0
    np.testing.assert_allclose(relaxed.y[:, 0], [0.25, 10.0])
    with pytest.raises(InvalidParameterError, match=r"'conflict_tol' parameter of load_dataset"):
        load_dataset(path, conflict_tol=-1.0)


def test_autodetects_smiles_and_single_numeric_target(tmp_path):
    ds = load_dataset(str(write(tmp_path, GOOD)))
    assert ds.target_names == ["y"] and len(ds) == 3 and ds.name == "data.csv"
    with pytest.raises(MissingColumnError, match=r"several numeric columns \('y', 'z'\)"):
        load_dataset(write(tmp_path, "smiles,y,z\nCC,1,2\n", "two.csv"))


@pytest.mark.parametrize("suffix,sep", [(".tsv", "\t"), (".csv.gz", ","), (".parquet", None)])
def test_tsv_gzip_and_parquet(tmp_path, suffix, sep):
    frame = pd.DataFrame({"smiles": ["CCO", "c1ccccc1", "xx"], "y": [1.0, 2.0, 3.0]})
    path = tmp_path / f"d{suffix}"
    if sep is None:
        frame.to_parquet(path)
    elif suffix.endswith(".gz"):
        path.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    else:
        frame.to_csv(path, sep=sep, index=False)
    with pytest.warns(DataWarning, match=r"1 invalid_smiles \(line 4\)" if sep else "invalid_smiles"):
        ds = load_dataset(path, target_cols="y")
    assert list(ds.smiles) == ["CCO", "c1ccccc1"]
    np.testing.assert_allclose(ds.target(), [1.0, 2.0])


def test_crlf_and_bom_and_blank_lines(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbfsmiles,y\r\nCCO,1\r\n\r\nCCN,2\r\n")
    ds = load_dataset(path)
    assert list(ds.smiles) == ["CCO", "CCN"]
    assert list(ds.meta["source_row"]) == [2, 4]  # the blank line 3 still counts
    old_mac = load_dataset(write(tmp_path, "\r\nsmiles,y\rCCO,1\rCCN,2\r", "cr.csv"))
    assert list(old_mac.meta["source_row"]) == [3, 4]


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    with pytest.raises(InvalidDataError, match=r"not found: .*nope\.csv"):
        load_dataset(tmp_path / "nope.csv")
    with pytest.raises(InvalidDataError, match=r"not found: nope\.csv"):
        load_dataset("nope.csv")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(InvalidDataError, match=r"is a folder"):
        load_dataset(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path, content):
    with pytest.raises(InvalidDataError, match=r"empty\.csv: the file is empty"):
        load_dataset(write(tmp_path, content, "empty.csv"))


def test_header_only(tmp_path):
    with pytest.raises(InvalidDataError, match=r"header \(smiles, y\) but no data rows"):
        load_dataset(write(tmp_path, "smiles,y\n"))


def test_unknown_column_lists_available(tmp_path):
    path = write(tmp_path, GOOD)
    with pytest.raises(MissingColumnError, match=r"Target column 'yy' is not in .*data\.csv; "
                       r"available columns: 'id', 'smiles', 'y'\. Did you mean 'y'\?"):
        load_dataset(path, target_cols=["yy"])
    with pytest.raises(MissingColumnError, match=r"SMILES column 'smi' is not in"):
        load_dataset(path, smiles_col="smi", target_cols="y")
    with pytest.raises(MissingColumnError, match=r"No SMILES column found in .*available columns: 'a', 'y'"):
        load_dataset(write(tmp_path, "a,y\nCC,1\n", "nosmiles.csv"))


def test_a_header_name_given_to_two_columns_is_refused_where_it_is_used(tmp_path):
    """Issue trial: 'smiles,exp,exp' (a join or an Excel paste). Before the fix the first
    'exp' was taken without a word (and auto-detection named pandas' 'exp.1')."""
    two_y = write(tmp_path, "smiles,exp,exp\nCCO,1.0,5.0\nCCN,2.0,6.0\n", "two_y.csv")
    msg = (r"Cannot use target column 'exp' of .*two_y\.csv: the header names 2 columns 'exp' "
           r"\(columns 2, 3\), so which one holds the values is ambiguous; rename the others\.")
    for kw in ({}, {"target_cols": "exp"}, {"target_cols": "EXP"}, {"target_cols": "exp.1"}):
        with pytest.raises(InvalidDataError, match=msg):
            load_dataset(two_y, **kw)
    two_smiles = write(tmp_path, "smiles,y,smiles\nCCO,1,CCCC\nCCN,2,CCCl\n", "two_s.csv")
    with pytest.raises(InvalidDataError, match=r"SMILES column 'smiles' .*columns 1, 3"):
        load_dataset(two_smiles)
    # a repeated name the command does not use is no obstacle (nor are empty names)
    ok = write(tmp_path, "smiles,y,note,note,,\nCCO,1,a,b,,\nCCN,2,c,d,,\n", "ok.csv")
    assert load_dataset(ok, target_cols="y").target("y").tolist() == [1.0, 2.0]


def test_every_smiles_invalid(tmp_path):
    path = write(tmp_path, "smiles,y\nfoo,1\nbar,2\n")
    with pytest.raises(InvalidSmilesError, match=r"None of the 2 SMILES in column 'smiles' of "
                       r".*data\.csv could be parsed by RDKit \(line 2: 'foo', line 3: 'bar'\)"):
        load_dataset(path)
    # choosing the wrong column as SMILES gives the same error
    with pytest.raises(InvalidSmilesError, match=r"column 'id'"):
        load_dataset(write(tmp_path, GOOD, "g.csv"), smiles_col="id", target_cols="y")


def test_text_target_column(tmp_path):
    path = write(tmp_path, "smiles,y,name\nCCO,1,ethanol\nCCN,2,ethylamine\n")
    with pytest.raises(InvalidDataError, match=r"Target column 'name' of .*data\.csv holds text, "
                       r"not numbers \(line 2: 'ethanol'\)"):
        load_dataset(path, target_cols="name")


def test_decimal_commas_are_named_not_called_text(tmp_path):
    """Issue trial: a European export ("2,5" quoted). The messages said 'holds text' /
    'No numeric target column' without the cause; nothing is converted (a comma can also
    separate thousands)."""
    path = write(tmp_path, 'smiles,logD\nCCO,"2,5"\nCCN,"-0,75"\nCCC,"1,0"\n')
    with pytest.raises(InvalidDataError, match=r"Target column 'logD' of .*data\.csv holds "
                       r"numbers with decimal commas \(line 2: '2,5'\).*'\.' as the decimal mark"):
        load_dataset(path, target_cols="logD")
    with pytest.raises(MissingColumnError, match=r"No numeric target column found in .*data\.csv; "
                       r"'logD' \(e\.g\. '2,5'\) hold numbers with decimal commas"):
        load_dataset(path)
    some = write(tmp_path, 'smiles,y\nCCO,1.5\nCCN,"2,5"\nCCC,3\n', "some.csv")
    with pytest.warns(DataWarning, match=r"1 non_numeric_target \(line 3: y='2,5'; 1 look like "
                      r"decimal commas"):
        ds = load_dataset(some, target_cols="y")
    assert ds.target("y").tolist() == [1.5, 3.0]


def test_empty_target_column(tmp_path):
    with pytest.raises(InvalidDataError, match=r"Target column 'y' .* no finite numeric value"):
        load_dataset(write(tmp_path, "smiles,y\nCCO,\nCCN,nan\n"), target_cols="y")


def test_every_row_dropped(tmp_path):
    path = write(tmp_path, "smiles,y\nCCO,\nfoo,1\n")
    with pytest.raises(InvalidDataError, match=r"No usable row in .*: all 2 rows were dropped"):
        load_dataset(path, target_cols="y")


@pytest.mark.parametrize(
    "text,name,match",
    [
        ("smiles;y\nCCO;1\n", "semi.csv", r"one column containing ';' .* semicolon-separated but was read as comma-separated"),
        ("smiles\ty\nCCO\t1\n", "tab.csv", r"one column containing tabs .*tab-separated .* rename it to \.tsv"),
        ("smiles,y\nCCO,1\n", "comma.tsv", r"comma-separated but was read as tab-separated; rename it to \.csv"),
    ],
)
def test_wrong_delimiter(tmp_path, text, name, match):
    with pytest.raises(InvalidDataError, match=match):
        load_dataset(write(tmp_path, text, name))


def test_binary_and_undecodable_files(tmp_path):
    with pytest.raises(InvalidDataError, match=r"binary data \(NUL bytes\)"):
        load_dataset(write(tmp_path, bytes(range(256)), "bin.csv"))
    with pytest.raises(InvalidDataError, match=r"byte 0xe9 on line 2 is not valid UTF-8"):
        load_dataset(write(tmp_path, b"smiles,y\nCC\xe9,1\n", "latin.csv"))
    with pytest.raises(InvalidDataError, match=r"gzip-compressed but is corrupt"):
        load_dataset(write(tmp_path, b"\x1f\x8b\x08garbage", "x.csv.gz"))
    with pytest.raises(InvalidDataError, match=r"not a valid Parquet file"):
        load_dataset(write(tmp_path, b"PAR1 not really", "x.parquet"))


def test_ragged_rows(tmp_path):
    with pytest.raises(InvalidDataError, match=r"Expected 2 fields on line 3, saw 3"):
        load_dataset(write(tmp_path, "smiles,y\nCCO,1\nCCN,2,3\n"))
    with pytest.raises(InvalidDataError, match=r"line 2 has 3 fields but the header has 2"):
        load_dataset(write(tmp_path, "smiles,y\nCCO,1,2\nCCN,2,3\n", "r2.csv"))


def test_read_table_keeps_text_and_line_numbers(tmp_path):
    table = read_table(write(tmp_path, '\n\nsmiles,y\n"C,C",007\n'))
    assert table.columns == ["smiles", "y"]
    assert table.frame.loc[0, "y"] == "007"  # text, not parsed
    assert list(table.lines) == [4]


def test_parquet_odd_columns(tmp_path):
    frame = pd.DataFrame({"smiles": [b"CCO", None, b"CCN"], "y": [1.0, 2.0, None]})
    frame.to_parquet(tmp_path / "odd.parquet")
    with pytest.warns(DataWarning, match=r"1 missing_smiles \(record 2\); 1 missing_target \(record 3\)"):
        ds = load_dataset(tmp_path / "odd.parquet")
    assert list(ds.smiles) == ["CCO"]
    pd.DataFrame(index=[0, 1]).to_parquet(tmp_path / "nocols.parquet")
    with pytest.raises(InvalidDataError, match=r"no columns were found"):
        load_dataset(tmp_path / "nocols.parquet")


@pytest.mark.parametrize("dtype", ["Float64", "Int64"])
def test_parquet_nullable_na_is_a_missing_cell(tmp_path, dtype):
    # h28 (lower priority): <NA> of a nullable column was read as the text '<NA>' and
    # reported as a non-numeric (censored-looking) value; the column was not even detected
    path = tmp_path / "na.parquet"
    pd.DataFrame({"smiles": ["CCO", "CCN", "CCC", "CCCC"],
                  "y": pd.array([1, None, 2, 3], dtype=dtype)}).to_parquet(path)
    with pytest.warns(DataWarning) as rec:
        ds = load_dataset(path)
    msg = " ".join(str(w.message) for w in rec)
    assert "1 missing_target" in msg and "<NA>" not in msg and "non_numeric" not in msg
    assert ds.target_names == ["y"] and list(ds.smiles) == ["CCO", "CCC", "CCCC"]


def test_file_named_like_a_registered_dataset_is_refused(tmp_path, monkeypatch):
    # h28 (lower priority): a local file 'freesolv' was silently shadowed by the dataset
    write(tmp_path, "smiles,y\nCCO,1\nCCN,2\n", "freesolv")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidParameterError, match=r"'freesolv' names both the registered "
                                                    r"dataset 'freesolv' and the file .*'./freesolv'"):
        load_dataset("freesolv")
    assert list(load_dataset("./freesolv").smiles) == ["CCO", "CCN"]
