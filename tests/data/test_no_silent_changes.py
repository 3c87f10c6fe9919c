"""Issue 14 (data side): every example of items 2, 3, 4, 6 and 10 as a test with its right value."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cliffkit.data import load_dataset
from cliffkit.errors import (
    CliffkitError,
    DataWarning,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
)


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def messages(rec) -> str:
    return " ".join(str(w.message) for w in rec)


# ----------------------------------------------------------------- item 2: whitespace

def test_smiles_cut_at_whitespace_is_an_invalid_row(tmp_path):
    path = write(tmp_path, "smiles,y\nC C O,1\nCC(C)Cc1ccc(cc1)C(C) C(=O)O,2\nc1ccc\tcc1,3\nCCN,4\nCCC,5\n")
    with pytest.warns(DataWarning) as rec:
        ds = load_dataset(path)
    assert "3 smiles_with_whitespace (line 2, 3, 4)" in messages(rec)
    # methane and the acid-less ibuprofen fragment are NOT in the data
    assert list(ds.smiles) == ["CCN", "CCC"]
    assert {d.row: d.reason for d in ds.report.dropped} == {
        2: "smiles_with_whitespace", 3: "smiles_with_whitespace", 4: "smiles_with_whitespace"}
    assert "'C C O': whitespace inside the SMILES" in ds.report.dropped[0].detail


def test_smi_style_name_is_accepted_with_a_warning(tmp_path):
    path = write(tmp_path, "smiles,y\nCCO ethanol,1\n  CCN  ,2\nc1ccccc1 benzene ring,3\n")
    with pytest.warns(DataWarning) as rec:
        ds = load_dataset(path)
    msg = messages(rec)
    assert "2 SMILES cells hold text after the SMILES, read as a name and ignored" in msg
    assert "line 2: 'ethanol' after 'CCO'" in msg and "'benzene ring' after 'c1ccccc1'" in msg
    assert "line 3" not in msg  # surrounding spaces are not a name
    assert list(ds.smiles) == ["CCO", "CCN", "c1ccccc1"]
    np.testing.assert_allclose(ds.y[:, 0], [1, 2, 3])


# -------------------------------------------------------- item 3: missing targets

@pytest.fixture(scope="module")
def two_targets(tmp_path_factory):
    """The issue's example: logS for 600 molecules, logP for one in three."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        esol = load_dataset("esol")
    smiles, logs = esol.smiles[:600], esol.y[:600, 0]
    logp = np.where(np.arange(600) % 3 == 0, np.round(1.0 - 0.8 * logs, 3), np.nan)
    path = tmp_path_factory.mktemp("mt") / "mt.csv"
    pd.DataFrame({"smiles": smiles, "logS": logs, "logP": logp}).to_csv(path, index=False)
    return path, logs, logp


def test_one_missing_target_no_longer_drops_the_row(two_targets):
    path, logs, logp = two_targets
    with pytest.warns(DataWarning) as rec:
        ds = load_dataset(path, target_cols=["logS", "logP"])
    msg = messages(rec)
    assert "'logP': 400 (line 3, 4, 6, 7, 9 and 395 more)" in msg
    assert "dropped" not in msg  # no row is lost
    assert len(ds) == 600
    assert ds.labelled("logS").sum() == 600  # no logS value lost (was 200)
    assert ds.labelled("logP").sum() == 200
    np.testing.assert_allclose(ds.target("logS"), logs)
    np.testing.assert_allclose(ds.target("logP"), logp)  # NaN where missing
    assert ds.report.masked_by_target() == {"logP": 400} and not ds.report.dropped
    assert not ds.complete


@pytest.mark.parametrize("method", ["random", "cliff"])
def test_each_target_is_labelled_on_its_own_molecules(two_targets, method):
    from cliffkit.similarity import compute_fingerprints
    from cliffkit.split import get_splitter
    from cliffkit.split._label import label_targets

    path, _, _ = two_targets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(path, target_cols=["logS", "logP"])
        res = get_splitter(method, random_state=0).make_split(ds)
    has = ds.labelled("logP")
    lab_s, lab_p = res.labels["logS"], res.labels["logP"]
    assert lab_s.n_unlabelled(res.test) == 0
    assert lab_p.n_unlabelled(res.test) == int((~has[res.test]).sum()) > 0
    # Independent check: label logP on a dataset holding only its molecules.
    rows = np.flatnonzero(has)
    pos = np.full(len(ds), -1)
    pos[rows] = np.arange(rows.size)
    fps = compute_fingerprints(list(ds.smiles[rows]))
    sub = [pos[s[has[s]]] for s in (res.train, res.val, res.test)]
    k = res.params["k_used"]
    ref, _ = label_targets(fps, ds.y[rows][:, [1]], ["logP"], sub[0], sub[1:], k=k,
                           min_similarity=res.params["min_similarity"], random_state=0)
    t = res.test[has[res.test]]
    assert (lab_p.strata[t] == ref["logP"].strata[pos[t]]).all()
    np.testing.assert_allclose(lab_p.severity[t], ref["logP"].severity[pos[t]], equal_nan=True)
    p = lab_p.partner[t]
    assert (has[p[p >= 0]]).all()  # partners are labelled training molecules
    assert (pos[p[p >= 0]] == ref["logP"].partner[pos[t]][p >= 0]).all()


def test_training_skips_missing_labels_and_scoring_uses_present_ones(two_targets):
    from cliffkit.evaluate import evaluate
    from cliffkit.models import get_backbone
    from cliffkit.split import RandomSplit, labelled_view

    path, _, _ = two_targets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(path, target_cols=["logS", "logP"])
        res = RandomSplit(random_state=0).make_split(ds)
    train, val = ds.subset(res.train), ds.subset(res.val)
    has = ds.labelled("logP")
    kw = dict(n_estimators=30, n_bits=256, random_state=0)
    masked = get_backbone("lgbm", **kw).fit(train, val, target="logP")
    clean = get_backbone("lgbm", **kw).fit(train.subset(np.flatnonzero(has[res.train])),
                                          val.subset(np.flatnonzero(has[res.val])), target="logP")
    pred = masked.predict(ds)
    np.testing.assert_allclose(pred, clean.predict(ds))  # the same as fitting on labelled rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate(res, pred, dataset=ds, target="logP", n_bootstrap=0, reference=False)
    t = res.test[has[res.test]]
    assert ev.n_test == t.size
    mae = float(np.mean(np.abs(pred[t] - ds.target("logP")[t])))
    assert ev.model["groups"]["overall"]["mae"].value == pytest.approx(mae)
    assert any(f"{int((~has[res.test]).sum())} of {res.test.size} test molecules have no logP"
               in n for n in ev.notes)
    ds_t, res_t, rows = labelled_view(res, ds, "logP")
    assert len(ds_t) == 200 and (rows == np.flatnonzero(has)).all()
    assert res_t.test.size == t.size


def test_cli_train_on_sparse_target(two_targets, tmp_path, capsys):
    from cliffkit.cli import main

    path, _, _ = two_targets
    split = tmp_path / "s.json"
    cols = ["--target-col", "logS", "--target-col", "logP"]
    assert main(["split", str(path), *cols, "--method", "random", "-o", str(split), "--quiet"]) == 0
    run = tmp_path / "run"
    assert main(["train", str(path), *cols, "--split", str(split), "--backbone", "lgbm",
                 "--target", "logP", "--param", "n_estimators=20", "-o", str(run), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "target 'logP' has a value for 200 of 600 molecules" in err
    preds = pd.read_csv(run / "predictions.csv")
    assert len(preds) == 600 and preds["prediction"].notna().all()
    assert preds["y_true"].notna().sum() == 200
    import json

    cfg = json.loads((run / "config.json").read_text())
    test = preds[(preds["split"] == "test") & preds["y_true"].notna()]
    assert cfg["metrics"]["test"]["n"] == len(test)
    assert cfg["metrics"]["test"]["mae"] == pytest.approx(
        float(np.mean(np.abs(test["prediction"] - test["y_true"]))))


# ------------------------------------------------- item 4: salts, stereo, isotopes

SALTS = (
    "smiles,y\n"
    "CC(=O)Oc1ccccc1C(=O)[O-].[Na+],1.0\n"   # 2 aspirin sodium salt
    "CC(=O)Oc1ccccc1C(=O)O,2.0\n"            # 3 aspirin
    "C[C@H](N)C(=O)O,3.0\n"                  # 4 L-alanine
    "C[C@@H](N)C(=O)O,4.0\n"                 # 5 D-alanine
    "[2H]C([2H])([2H])O,5.0\n"               # 6 methanol-d3
    "CO,6.0\n"                               # 7 methanol
)


def test_standardize_modes(tmp_path):
    path = write(tmp_path, SALTS)
    with pytest.warns(DataWarning, match=r"1 SMILES has several fragments \(line 2\); kept as written"):
        keep = load_dataset(path)
    assert len(keep) == 6 and keep.report.n_multi_fragment == 1
    with pytest.warns(DataWarning, match="several fragments"):
        frag = load_dataset(path, standardize="fragment")
    assert frag.smiles[0] == "CC(=O)Oc1ccccc1C(=O)[O-]" and len(frag) == 6
    with pytest.warns(DataWarning) as rec:
        parent = load_dataset(path, standardize="parent")
    assert "reduced by standardize='parent'" in messages(rec)
    assert list(parent.smiles) == ["CC(=O)Oc1ccccc1C(=O)O", "CC(N)C(=O)O", "CO"]
    np.testing.assert_allclose(parent.y[:, 0], [1.5, 3.5, 5.5])
    assert [g.rows for g in parent.report.merged] == [[2, 3], [4, 5], [6, 7]]
    with pytest.raises(InvalidParameterError, match="'keep', 'fragment', 'parent'"):
        load_dataset(path, standardize="salts")


def test_identical_fingerprint_partners_are_counted(tmp_path):
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    from cliffkit.evaluate import evaluate
    from cliffkit.split import RandomSplit, summarize_split

    # 20 parent/salt pairs of carboxylic acids (different labels: a "cliff" at similarity 1.0)
    rows = []
    for n in range(2, 22):
        acid = "C" * n + "C(=O)O"
        rows += [(acid, 0.1 * n), ("C" * n + "C(=O)[O-].[Na+]", 0.1 * n + 2.0)]
    path = write(tmp_path, "smiles,y\n" + "".join(f"{s},{v}\n" for s, v in rows))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(path)
        res = RandomSplit(test_size=0.3, val_size=0.0, min_similarity=0.3, random_state=1).make_split(ds)
    lab = res.labels["y"]
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fp = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in ds.smiles]
    expected = sum(1 for i in res.test if lab.partner[i] >= 0
                   and DataStructs.TanimotoSimilarity(fp[i], fp[lab.partner[i]]) == 1.0)
    assert expected > 0
    assert summarize_split(res)["targets"]["y"]["n_identical_partner"]["test"] == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ev = evaluate(res, ds.y[:, 0] * 0, dataset=ds, n_bootstrap=0, reference=False)
    assert ev.params["n_identical_partner"] == expected
    assert any(n.startswith(f"{expected} of {res.test.size} test cases have a cliff partner at "
                            "Tanimoto similarity 1.0") and "no fingerprint model can separate" in n
               for n in ev.notes)


# ------------------------------------------------------------ item 6: potency units

def test_moleculeace_y_disagreeing_with_exp_nm_is_reported(tmp_path, data_dir):
    src = pd.read_csv(data_dir / "moleculeace" / "CHEMBL234_Ki.csv")
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(src), size=len(src) // 10, replace=False))
    src.loc[idx, "y"] = src.loc[idx, "y"] + 1.0
    path = tmp_path / "CHEMBL234_Ki.csv"
    src.to_csv(path, index=False)
    with pytest.warns(DataWarning) as rec:
        ds = load_dataset(f"moleculeace:{path}")
    msg = messages(rec)
    assert f"on {len(idx):,} of {len(src):,} rows" in msg and "(line " in msg
    assert ds.meta["y_exp_mismatch_lines"] == (idx + 2).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # the original file is consistent
        clean = load_dataset(f"moleculeace:{data_dir / 'moleculeace' / 'CHEMBL234_Ki.csv'}")
    assert clean.meta["y_exp_mismatch_lines"] == []


def test_moleculeace_sign_flip_is_named(tmp_path):
    text = "smiles,exp_mean [nM],y,cliff_mol,split\n" + "".join(
        f"{'C' * n}O,{10.0 ** (n % 4)},{(n % 4) * (1 if n < 5 else -1)},0,train\n" for n in range(1, 9))
    path = write(tmp_path, text, "CHEMBL1_Ki.csv")
    with pytest.warns(DataWarning, match=r"the sign is flipped"):
        load_dataset(f"moleculeace:{path}")


def test_moleculeace_cliffs_warns_on_p_values(data_dir):
    from cliffkit.cliffs import moleculeace_cliffs

    src = pd.read_csv(data_dir / "moleculeace" / "CHEMBL234_Ki.csv").iloc[:300]
    nm = src["exp_mean [nM]"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        right = moleculeace_cliffs(src["smiles"].tolist(), nm)
    assert right.sum() > 0
    with pytest.warns(DataWarning, match=r"look like -log10 potencies .* nM = 10\*\*\(9 - p\)"):
        wrong = moleculeace_cliffs(src["smiles"].tolist(), 9 - np.log10(nm))
    assert wrong.sum() == 0


# --------------------------------------------------------- item 10: messages

def test_duplicate_group_of_1000_lines_is_capped(tmp_path):
    text = "smiles,y\n" + "".join(f"CCO,{i % 7}\n" for i in range(1000)) + "CCN,1\nCCC,9\n"
    path = write(tmp_path, text)
    with pytest.warns(DataWarning) as rec:
        ds = load_dataset(path)
    msg = messages(rec)
    assert "2+3+4+... (1,000 rows)" in msg and len(msg) < 600
    assert len(ds.report.merged[0].rows) == 1000  # the report keeps every row


def test_dropped_rows_list_says_how_many_more(tmp_path):
    text = "smiles,y\n" + "".join(f"C1CC,{i}\n" for i in range(40)) + "CCN,1\nCCC,2\n"
    with pytest.warns(DataWarning, match=r"40 invalid_smiles \(line 2, 3, 4, 5, 6 and 35 more\)"):
        load_dataset(write(tmp_path, text))


@pytest.mark.parametrize("encoding, name, codec", [
    ("utf-16", "UTF-16 (little-endian)", "UTF-16LE"),
    ("utf-16-le", "UTF-16 (little-endian)", "UTF-16LE"),
    ("utf-16-be", "UTF-16 (big-endian)", "UTF-16BE"),
    ("cp1252", "Windows-1252", "CP1252"),
])
def test_non_utf8_file_is_named_by_its_encoding(tmp_path, encoding, name, codec):
    path = write(tmp_path, "smiles,y,name\nCCO,1,café\nCCN,2,naïve\n".encode(encoding))
    with pytest.raises(InvalidDataError) as exc:
        load_dataset(path)
    msg = str(exc.value)
    assert name in msg and f"iconv -f {codec} -t UTF-8" in msg and "binary" not in msg


def test_target_refused_for_censored_values_says_so(tmp_path):
    text = "smiles,IC50\n" + "".join(f"{'C' * n}O,{n}\n" for n in range(1, 9)) + "CCN,>10\nCCCN,>100\n"
    path = write(tmp_path, text)
    with pytest.raises(MissingColumnError, match=r"'IC50' \(2 of 10 values are censored, e.g. '>10', '>100'\)"):
        load_dataset(path)
    with pytest.warns(DataWarning, match=r"2 are censored values"):
        ds = load_dataset(path, target_cols="IC50")
    assert len(ds) == 8


def test_numeric_id_is_not_taken_as_target_beside_a_censored_column(tmp_path):
    # h28 finding 2: the only numeric column was compound_id, so it became the target
    path = write(tmp_path, "compound_id,smiles,pIC50\n101,CCO,5.2\n102,CCN,>10\n103,CCC,6.1\n"
                           "104,CCCC,7.0\n")
    with pytest.raises(MissingColumnError) as exc:
        load_dataset(path)
    msg = str(exc.value)
    assert "'compound_id' (distinct integers: looks like an identifier)" in msg
    assert "'pIC50' (1 of 4 values are censored" in msg and "--target-col" in msg
    with pytest.warns(DataWarning, match="censored"):
        assert load_dataset(path, target_cols="pIC50").target_names == ["pIC50"]


@pytest.mark.parametrize("text,why", [
    # a numeric column beside one with text cells ('n.d.'): either may be the target
    ("num,smiles,act\n7,CCO,5.2\n7,CCN,n.d.\n8,CCC,6.1\n9,CCCC,7.0\n",
     r"'num' \(numeric\); 'act' \(1 of 4 values are not numbers\)"),
    # 20 distinct whole numbers and nothing else: an identifier, whatever its name
    ("smiles,reg\n" + "".join(f"{'C' * n}O,{1000 + 7 * n}\n" for n in range(1, 21)),
     r"'reg' \(distinct integers: looks like an identifier\)"),
])
def test_ambiguous_single_numeric_column_is_refused(tmp_path, text, why):
    with pytest.raises(MissingColumnError, match=r"Cannot tell the target column .*" + why):
        load_dataset(write(tmp_path, text))


def test_no_numeric_column_names_the_mostly_numeric_one(tmp_path):
    path = write(tmp_path, "smiles,act\nCCO,5.2\nCCN,n.d.\nCCC,6.1\nCCCC,7.0\n")
    with pytest.raises(MissingColumnError, match=r"No numeric target column .* mostly numbers "
                                                 r"but with text cells: 'act' \(1 of 4 values"):
        load_dataset(path)


def test_small_whole_number_target_is_still_taken(tmp_path):
    ds = load_dataset(write(tmp_path, "smiles,y\nCCO,1\nCCN,2\nCCC,3\n"))
    assert ds.target_names == ["y"]


def test_smiles_and_SMILES_columns_are_not_guessed(tmp_path):
    # h28 (lower priority): the first of 'SMILES' and 'smiles' was taken silently
    path = write(tmp_path, "SMILES,smiles,y\nCCO,c1ccccc1,1.5\nCCN,CCCl,2.5\n")
    with pytest.raises(MissingColumnError, match=r"2 SMILES columns \('SMILES', 'smiles'\); "
                                                 r"choose one with smiles_col / --smiles-col"):
        load_dataset(path)
    assert list(load_dataset(path, smiles_col="smiles").smiles) == ["c1ccccc1", "CCCl"]
    with pytest.raises(MissingColumnError, match=r"2 columns differ from it only in case"):
        load_dataset(path, smiles_col="Smiles")


def test_column_lists_in_errors_are_capped(tmp_path):
    cols = [f"c{i}" for i in range(100)]
    text = "smiles," + ",".join(cols) + "\nCCO," + ",".join("1" for _ in cols) + "\n"
    path = write(tmp_path, text)
    with pytest.raises(MissingColumnError) as exc:
        load_dataset(path, target_cols="nope")
    assert "and 71 more" in str(exc.value) and "'c99'" not in str(exc.value)
    with pytest.raises(MissingColumnError, match=r"several numeric columns .* and 70 more\)"):
        load_dataset(path)


def test_unknown_name_lists_are_capped():
    from cliffkit.errors import unknown_name

    msg = str(unknown_name("thing", "x", [f"n{i:03d}" for i in range(100)]))
    assert "n029" in msg and "n030" not in msg and "and 70 more" in msg


def test_predictions_file_smiles_with_names_are_matched_and_announced(tmp_path):
    from cliffkit.evaluate import read_predictions
    from cliffkit.split import RandomSplit

    smiles = [("C" * n) + "O" for n in range(1, 13)]
    ds_path = write(tmp_path, "smiles,y\n" + "".join(f"{s},{i}\n" for i, s in enumerate(smiles)))
    ds = load_dataset(ds_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = RandomSplit(test_size=0.25, val_size=0.0, min_similarity=0.2,
                          random_state=0).make_split(ds)
    lines = "".join(f"{ds.smiles[i]} mol{i},{i / 10}\n" for i in range(len(ds)))
    pred_path = write(tmp_path, "smiles,prediction\n" + lines, "preds.csv")
    with pytest.warns(DataWarning, match=r"read as a name and ignored \(line 2: 'mol0' after 'CO'"):
        full = read_predictions(pred_path, res)
    np.testing.assert_allclose(full, np.arange(len(ds)) / 10)
    bad_path = write(tmp_path, "smiles,prediction\nC C O,1\n", "bad.csv")
    with pytest.raises(CliffkitError, match="C C O"):
        read_predictions(bad_path, res)


def test_array_path_accepts_missing_values_of_some_targets(two_targets):
    from cliffkit.split import RandomSplit

    path, logs, logp = two_targets
    smiles = pd.read_csv(path)["smiles"].tolist()
    y = np.column_stack([logs, logp])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = RandomSplit(random_state=0).make_split(smiles, y)
        ds = load_dataset(path, target_cols=["logS", "logP"])
        ref = RandomSplit(random_state=0).make_split(ds)
    assert (res.test == ref.test).all()
    assert (res.labels["y0"].strata == ref.labels["logS"].strata).all()
    assert (res.labels["y1"].strata == ref.labels["logP"].strata).all()
    assert res.labels["y1"].n_unlabelled(res.test) > 0 == res.labels["y0"].n_unlabelled(res.test)
    with pytest.raises(InvalidParameterError, match=r"infinite values at rows \[0\]"):
        RandomSplit().make_split(smiles, np.where(np.arange(600)[:, None] == 0, np.inf, y))
    # inf in one row and no value in two others: each named as what it is (the rows of both
    # were listed as "infinite values")
    mixed = y.copy()
    mixed[0, 0], mixed[2], mixed[5] = np.inf, np.nan, np.nan
    with pytest.raises(InvalidParameterError, match=r"infinite values at rows \[0\]; no value for "
                       r"any target \(NaN\) at rows \[2, 5\];"):
        RandomSplit().make_split(smiles, mixed)


def test_merged_duplicates_near_the_float_limit_average_without_overflow(tmp_path):
    """Two equal finite labels near the float64 limit average to themselves, not to inf
    (their sum overflows; found by the fuzz test), and ordinary merges keep their bits."""
    big = 8.99e307
    text = f"smiles,y\nCCO,{big!r}\nCCO,{big!r}\nCCC,1\nCCC,2\nCCC,4\nCCN,2\n"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(write(tmp_path, text))
    got = dict(zip(ds.smiles, ds.y[:, 0], strict=True))
    assert got["CCO"] == big and np.isfinite(ds.y).all()
    assert got["CCC"] == (1.0 + 2.0 + 4.0) / 3  # the plain mean, bit for bit
