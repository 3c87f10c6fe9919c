"""Split files: write-read round trip, byte identity, invariants and every error."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from cliffkit.errors import CliffkitWarning, SplitFileError
from cliffkit.split import CliffSplit, load_split, to_chemprop_splits

SMILES = ["CCO", "CCCO", "CCCCO", "CCCCCO", "CCN", "CCCN", "CCCCN", "CCCCCN",
          "c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "c1ccccc1CC", "c1ccccc1CCC", "c1ccccc1CO",
          "CCCl", "CCCCl", "CCCCCl", "OCCO", "OCCCO", "NCCN"]
Y = np.array([[0.1, 1.0], [0.2, 1.1], [0.3, 1.5], [2.0, 0.2], [1.0, 1.0], [1.1, 2.0],
              [1.2, 0.1], [1.3, 0.3], [3.0, 1.0], [0.5, 0.9], [3.1, 1.2], [3.2, 2.2],
              [0.4, 0.4], [2.9, 1.0], [1.5, 1.4], [1.6, 1.8], [0.2, 2.5], [0.3, 0.3],
              [0.9, 0.8], [1.9, 1.0]])


@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        return CliffSplit(test_size=0.2, val_size=0.15, min_similarity=0.2).make_split(SMILES, Y)


@pytest.fixture(scope="module")
def dataset():
    from cliffkit.data import Dataset

    return Dataset(name="toy", smiles=SMILES, y=Y, target_names=["a", "b"], units=["u", "u"])


def _eq(a, b):
    assert a.method == b.method and a.target_names == b.target_names
    for s in ("train", "val", "test"):
        assert np.array_equal(a.subset(s), b.subset(s))
    assert a.smiles.tolist() == b.smiles.tolist()
    for t in a.target_names:
        la, lb = a.labels[t], b.labels[t]
        assert la.strata.tolist() == lb.strata.tolist()
        assert np.array_equal(la.partner, lb.partner)
        held = np.concatenate([a.val, a.test])
        for f in ("severity", "max_similarity", "partner_similarity", "partner_delta", "abs_z"):
            np.testing.assert_allclose(getattr(la, f)[held], getattr(lb, f)[held], atol=1e-9)
        for f in ("matched_cliff", "matched_smooth", "matched_cliff_z", "matched_smooth_z"):
            assert np.array_equal(getattr(la, f), getattr(lb, f))


def test_round_trip(result, tmp_path):
    p = result.save(tmp_path / "split.json")
    back = load_split(p)
    _eq(result, back)
    assert back.to_json() == result.to_json()  # write-read-write is stable
    doc = json.loads(p.read_text())
    assert doc["format"] == "cliffkit-split" and doc["version"] == 1
    assert doc["random_state"] == 0 and doc["params"]["min_similarity"] == 0.2
    assert set(doc["targets"]) == {"y0", "y1"}
    assert "timestamp" not in p.read_text()


def test_same_inputs_same_bytes(result, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        again = CliffSplit(test_size=0.2, val_size=0.15, min_similarity=0.2).make_split(SMILES, Y)
    a = result.save(tmp_path / "a.json").read_bytes()
    b = again.save(tmp_path / "b.json").read_bytes()
    assert a == b


def test_checksum_against_dataset(dataset, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        res = CliffSplit(test_size=0.2, val_size=0.1, min_similarity=0.2).make_split(dataset)
    p = res.save(tmp_path / "s.json")
    assert load_split(p, dataset).dataset["checksum"] == dataset.checksum
    other = dataset.subset(np.arange(len(dataset))[::-1], name="reversed")
    with pytest.raises(SplitFileError, match="was made for dataset 'toy' with checksum"):
        load_split(p, other)


def _write(tmp_path, doc):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    return p


def test_errors(result, tmp_path):
    doc = result.to_dict()
    with pytest.raises(SplitFileError, match="does not exist"):
        load_split(tmp_path / "nope.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(SplitFileError, match="is not valid JSON"):
        load_split(tmp_path / "x.json")
    with pytest.raises(SplitFileError, match="is not a cliffkit split file"):
        load_split(_write(tmp_path, {**doc, "format": "other"}))
    with pytest.raises(SplitFileError, match="has version 2; this cliffkit reads version 1"):
        load_split(_write(tmp_path, {**doc, "version": 2}))
    bad = json.loads(json.dumps(doc))
    bad["test"] = bad["test"][:-1] + [bad["train"][0]]
    with pytest.raises(SplitFileError, match="appears more than once"):
        load_split(_write(tmp_path, bad))
    bad = json.loads(json.dumps(doc))
    bad["train"] = bad["train"][1:]
    bad["smiles"]["train"] = bad["smiles"]["train"][1:]
    with pytest.raises(SplitFileError, match="is in none of train/val/test"):
        load_split(_write(tmp_path, bad))
    bad = json.loads(json.dumps(doc))
    st = bad["targets"]["y0"]["test"]
    i = next(j for j, s in enumerate(st["stratum"]) if s in ("cliff", "smooth"))
    st["partner"][i] = bad["test"][(i + 1) % len(bad["test"])]
    with pytest.raises(SplitFileError, match="is not a training molecule"):
        load_split(_write(tmp_path, bad))
    bad = json.loads(json.dumps(doc))
    st = bad["targets"]["y0"]["test"]
    st["max_similarity"][i] = 0.05
    with pytest.raises(SplitFileError, match="has no training neighbour with similarity >= 0.2"):
        load_split(_write(tmp_path, bad))
    bad = json.loads(json.dumps(doc))
    del bad["train"]
    with pytest.raises(SplitFileError, match="has no 'train' entry"):
        load_split(_write(tmp_path, bad))


def test_chemprop_export(dataset, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        result = CliffSplit(test_size=0.2, val_size=0.15, min_similarity=0.2).make_split(dataset)
    p = to_chemprop_splits(result, tmp_path / "splits.json", data_path=tmp_path / "data.csv",
                           dataset=dataset)
    doc = json.loads(p.read_text())
    assert isinstance(doc, list) and len(doc) == 1 and set(doc[0]) == {"train", "val", "test"}
    assert doc[0]["test"] == result.test.tolist() and doc[0]["val"] == result.val.tolist()
    assert all(isinstance(i, int) for i in doc[0]["train"])
    lines = (tmp_path / "data.csv").read_text().splitlines()
    assert lines[0] == "smiles,a,b" and len(lines) == len(SMILES) + 1
    assert lines[1 + result.test[0]].startswith(dataset.smiles[result.test[0]] + ",")
    with pytest.raises(SplitFileError, match="needs the dataset to write data_path"):
        to_chemprop_splits(result, tmp_path / "s2.json", data_path=tmp_path / "d2.csv")
    other = dataset.subset(np.arange(len(dataset))[::-1], name="reversed")
    with pytest.raises(SplitFileError, match="was made for dataset 'toy'"):
        to_chemprop_splits(result, tmp_path / "s3.json", dataset=other)


def test_strata_accessor(result):
    st = result.strata("y0", "test")
    assert st.shape == result.test.shape
    assert set(st) <= {"cliff", "smooth", "intermediate", "unsupported"}
    with pytest.raises(KeyError, match="Unknown target of this split 'zz'"):
        result.strata("zz")


def test_comparison_table_columns_fit_a_long_target_name():
    """Review h34 F6: a target name over 10 characters ran into the 'split' column
    ('...litregiven') and the columns no longer lined up."""
    from cliffkit.split import format_comparison

    name = "measured log solubility in mols per litre"
    e = {"n": 20, "supported": 0.2, "cliff_share": 0.25, "cliff": 1, "smooth": 2,
         "median_similarity": 0.287}
    text = format_comparison({"given": {name: e}, "cliffsplit": {name: e}})
    head, given, ref = [ln for ln in text.splitlines()[1:] if set(ln.strip()) != {"-"}]
    assert f"{name}  given" in given and f"{name}  CliffSplit" in ref
    col = head.index("split")
    assert given.index("given") == ref.index("CliffSplit") == col
    assert len(head) == len(given) == len(ref)  # right-aligned numbers end together
