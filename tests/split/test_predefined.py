"""PredefinedSplit: split column, chemprop splits file, index files; labelling against the
given training set; every bad input gets one message naming the file and the values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cliffkit.data import load_dataset
from cliffkit.errors import InvalidDataError, InvalidParameterError
from cliffkit.split import (
    PredefinedSplit,
    carve_validation,
    compare_with_cliffsplit,
    get_splitter,
    load_split,
    read_index_file,
    to_chemprop_splits,
)

pytestmark = pytest.mark.filterwarnings("ignore::cliffkit.errors.SplitWarning",
                                      "ignore::cliffkit.errors.DataWarning")


@pytest.fixture(scope="module")
def mace(data_dir):
    return load_dataset("moleculeace:CHEMBL2034_Ki", data_dir=data_dir)


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, data_dir):
    """120 Lipophilicity rows with a split column (train/valid/test) and row numbers."""
    df = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:120][["smiles", "exp"]].copy()
    df["split"] = ["test" if i % 5 == 0 else ("valid" if i % 7 == 0 else "train")
                   for i in range(len(df))]
    path = tmp_path_factory.mktemp("pre") / "lipo120.csv"
    df.to_csv(path, index=False)
    return path, df


def test_split_column_reproduces_moleculeace(mace):
    res = get_splitter("predefined", split_col="split").make_split(mace)
    file_split = mace.meta["moleculeace_split"]
    assert set(res.test) == set(np.flatnonzero(file_split == "test"))
    assert set(res.train) == set(np.flatnonzero(file_split == "train"))
    assert res.val.size == 0 and res.method == "predefined"
    st = res.strata("y", "test")
    assert (st == "cliff").any() and (st == "smooth").any()
    # partners are training molecules (checked by SplitResult) and labels are against train
    lab = res.labels["y"]
    assert (lab.partner[res.test][np.isin(st, ["cliff", "smooth"])] >= 0).all()


def test_val_carved_from_train_seeded_and_byte_identical(mace, tmp_path):
    a = PredefinedSplit(split_col="split", val_size=0.1, random_state=3).make_split(mace)
    b = PredefinedSplit(split_col="split", val_size=0.1, random_state=3).make_split(mace)
    c = PredefinedSplit(split_col="split", val_size=0.1, random_state=4).make_split(mace)
    n_train_given = int((mace.meta["moleculeace_split"] == "train").sum())
    assert a.val.size == int(np.ceil(0.1 * n_train_given))
    assert not set(a.val) & set(np.flatnonzero(mace.meta["moleculeace_split"] == "test"))
    a.save(tmp_path / "a.json")
    b.save(tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert not np.array_equal(a.val, c.val)
    assert a.info["val_carved"]["n"] == a.val.size
    again = load_split(tmp_path / "a.json", dataset=mace)
    np.testing.assert_array_equal(again.test, a.test)


def test_valid_spelling_and_chemprop_round_trip(small_csv, tmp_path):
    path, df = small_csv
    ds = load_dataset(path)
    res = PredefinedSplit(split_col="split").make_split(ds)
    assert res.val.size == (df["split"] == "valid").sum()
    # export to chemprop (rows of the exported CSV) and read it back
    data_csv, splits_json = tmp_path / "d.csv", tmp_path / "splits.json"
    to_chemprop_splits(res, splits_json, data_path=data_csv, dataset=ds)
    ds2 = load_dataset(data_csv)
    res2 = PredefinedSplit(chemprop_splits=str(splits_json)).make_split(ds2)
    for s in ("train", "val", "test"):
        np.testing.assert_array_equal(res.subset(s), res2.subset(s))


def test_index_files_and_arrays(small_csv, tmp_path):
    path, df = small_csv
    ds = load_dataset(path)
    test_rows = [i for i in range(len(df)) if i % 4 == 0]
    train_rows = [i for i in range(len(df)) if i % 4 != 0]
    (tmp_path / "tr.txt").write_text("# training rows\n" + "\n".join(map(str, train_rows)) + "\n")
    (tmp_path / "te.json").write_text(json.dumps(test_rows))
    res = PredefinedSplit(train_idx=str(tmp_path / "tr.txt"),
                          test_idx=str(tmp_path / "te.json")).make_split(ds)
    res_arr = PredefinedSplit(train_idx=train_rows, test_idx=test_rows).make_split(ds)
    np.testing.assert_array_equal(res.test, res_arr.test)
    # file rows map to dataset rows through the source lines
    lines = np.asarray(ds.meta["source_row"])[res.test]
    assert sorted((lines - 2).tolist()) == test_rows


def test_comparison_with_cliffsplit(mace):
    res = PredefinedSplit(split_col="split").make_split(mace)
    cmp = compare_with_cliffsplit(res, mace)
    g, c = cmp["given"]["y"], cmp["cliffsplit"]["y"]
    assert g["n"] == c["n"] == res.test.size
    assert c["cliff_share"] > g["cliff_share"]  # CliffSplit enriches cliffs by design
    assert 0 <= g["supported"] <= 1


def test_carve_validation():
    tr, va = carve_validation(np.arange(50), 0.2, random_state=1)
    assert va.size == 10 and tr.size == 40 and not set(tr) & set(va)
    tr2, va2 = carve_validation(np.arange(50), 0.2, random_state=1)
    np.testing.assert_array_equal(va, va2)
    with pytest.raises(InvalidParameterError, match="too few"):
        carve_validation([1, 2], 0.5)


# ------------------------------------------------------------------------ bad input
def _csv(tmp_path, rows, name="d.csv"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=["smiles", "y", "split"]).to_csv(path, index=False)
    return path


BASE = [("CCO", 1.0, "train"), ("CCCO", 1.2, "train"), ("CCCCO", 1.4, "train"),
        ("CCN", 0.5, "test"), ("CCCN", 0.7, "test"), ("c1ccccc1O", 2.0, "train")]


def test_other_split_values(tmp_path):
    path = _csv(tmp_path, BASE + [("CCCCCO", 1.5, "holdout")])
    with pytest.raises(InvalidDataError, match=r"d\.csv, column 'split'.*'holdout'.*line 8"):
        PredefinedSplit(split_col="split").make_split(load_dataset(path))


def test_duplicate_across_sets_after_standardisation(tmp_path):
    path = _csv(tmp_path, BASE + [("OCC", 1.1, "test")])  # OCC == CCO, which is in train
    ds = load_dataset(path)
    with pytest.raises(InvalidDataError, match=r"two sets after standardisation.*lines 2 \(train\) "
                                                r"and 8 \(test\).*'CCO'"):
        PredefinedSplit(split_col="split").make_split(ds)


def test_empty_set(tmp_path):
    path = _csv(tmp_path, [(s, y, "train") for s, y, _ in BASE])
    with pytest.raises(InvalidDataError, match="test set is empty.*train 6, val 0, test 0"):
        PredefinedSplit(split_col="split").make_split(load_dataset(path))


def test_missing_column(tmp_path):
    path = _csv(tmp_path, BASE)
    with pytest.raises(InvalidDataError, match="no column 'fold'"):
        PredefinedSplit(split_col="fold").make_split(load_dataset(path))


def test_index_out_of_range_and_unassigned(tmp_path):
    path = _csv(tmp_path, BASE)
    ds = load_dataset(path)
    (tmp_path / "te.txt").write_text("3\n4\n9\n")
    with pytest.raises(InvalidDataError, match=r"test index .*te\.txt: indices \[9\] are out of "
                                                r"range for a data file of 6 rows"):
        PredefinedSplit(train_idx=[0, 1, 2, 5], test_idx=str(tmp_path / "te.txt")).make_split(ds)
    with pytest.raises(InvalidDataError, match=r"1 dataset molecule\(s\) are in no set"):
        PredefinedSplit(train_idx=[0, 1, 2], test_idx=[3, 4]).make_split(ds)
    with pytest.raises(InvalidDataError, match=r"rows \[2\] are in 'test' and in 'train'"):
        PredefinedSplit(train_idx=[0, 1, 2, 5], test_idx=[2, 3, 4]).make_split(ds)
    (tmp_path / "bad.txt").write_text("0\nfoo\n")
    with pytest.raises(InvalidDataError, match=r"bad\.txt, line 2: 'foo' is not an integer"):
        read_index_file(tmp_path / "bad.txt")


def test_chemprop_file_for_another_row_count(tmp_path):
    path = _csv(tmp_path, BASE)
    ds = load_dataset(path)
    sp = tmp_path / "splits.json"
    sp.write_text(json.dumps([{"train": [0, 1, 2, 5, 6, 7], "val": [], "test": [3, 4]}]))
    with pytest.raises(InvalidDataError, match=r"splits\.json is for another data file: it "
                                                r"indexes 8 rows .* has 6 rows"):
        PredefinedSplit(chemprop_splits=str(sp)).make_split(ds)


def test_dropped_rows_are_counted(tmp_path):
    path = _csv(tmp_path, BASE + [("not_a_smiles", 1.0, "test")])
    with pytest.warns(Warning):
        ds = load_dataset(path)
    res = PredefinedSplit(split_col="split").make_split(ds)
    assert res.info["given"]["dropped_rows"] == {"train": 0, "val": 0, "test": 1}


def test_exactly_one_source(tmp_path):
    ds = load_dataset(_csv(tmp_path, BASE))
    with pytest.raises(InvalidParameterError, match="exactly one source"):
        PredefinedSplit().make_split(ds)
    with pytest.raises(InvalidParameterError, match="exactly one source"):
        PredefinedSplit(split_col="split", train_idx=[0]).make_split(ds)


def test_chemprop_export_of_file_rows_reads_back(tmp_path):
    """to_chemprop_splits without data_path indexes the user's own file rows (merged
    duplicates share their molecule's set, dropped rows none); reading that file back as a
    predefined split of the same file gives the same sets."""
    rows = BASE + [("OCC", 1.1, "train"), ("not_a_smiles", 1.0, "test"), ("CCCCCN", 0.9, "test")]
    with pytest.warns(Warning):
        ds = load_dataset(_csv(tmp_path, rows))
    res = PredefinedSplit(split_col="split").make_split(ds)
    sp = tmp_path / "splits.json"
    with pytest.warns(Warning):  # the dropped row is in no set of the export
        to_chemprop_splits(res, sp, dataset=ds)
    doc = json.loads(sp.read_text())[0]
    dropped = 7  # 0-based file row of "not_a_smiles"
    doc["test"] = sorted(doc["test"] + [dropped])  # a chemprop file lists every row
    sp.write_text(json.dumps([doc]))
    back = PredefinedSplit(chemprop_splits=str(sp)).make_split(ds)
    for s in ("train", "val", "test"):
        np.testing.assert_array_equal(back.subset(s), res.subset(s))
    assert back.info["given"]["dropped_rows"]["test"] == 1
