"""evaluate() and read_predictions() on a hand-built split of 8 molecules."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cliffkit.data import Dataset
from cliffkit.errors import (
    DataWarning,
    InvalidDataError,
    MissingColumnError,
    PredictionsError,
    ShapeMismatchError,
    SplitFileError,
    UnknownNameError,
)
from cliffkit.evaluate import Evaluation, evaluate, read_predictions
from cliffkit.split import SplitResult, TargetLabels

SMILES = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCO", "CCN", "c1ccccc1"]
Y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 2.5, 1.0, 0.0])
TRAIN, TEST = np.array([0, 1, 2, 3]), np.array([4, 5, 6, 7])
# predictions for every row: training partners included
PRED = np.array([1.5, 2.0, 2.5, 3.0, 4.0, 2.0, 2.0, 1.0])


def toy_split(dataset: Dataset) -> SplitResult:
    n = len(SMILES)
    strata = np.array(["train"] * 4 + ["cliff", "smooth", "cliff", "unsupported"], dtype="<U12")
    partner = np.array([-1, -1, -1, -1, 3, 1, 2, -1])
    nan = np.full(n, np.nan)
    maxsim = nan.copy()
    maxsim[TEST] = [0.8, 0.6, 0.5, 0.2]
    false = np.zeros(n, dtype=bool)
    labels = TargetLabels(
        target="y", strata=strata, severity=nan.copy(), partner=partner,
        partner_similarity=maxsim.copy(), partner_delta=nan.copy(), max_similarity=maxsim,
        abs_z=nan.copy(), matched_cliff=false.copy(), matched_smooth=false.copy(),
        matched_cliff_z=false.copy(), matched_smooth_z=false.copy(), scale=1.0,
        cliff_threshold=0.5, smooth_threshold=0.2,
    )
    return SplitResult(
        train=TRAIN, val=np.zeros(0, dtype=np.int64), test=TEST,
        smiles=np.asarray(SMILES, dtype=object), target_names=["y"], labels={"y": labels},
        method="cliff", params={"min_similarity": 0.35, "k": 2, "k_used": 2},
        dataset={"name": "toy", "checksum": dataset.checksum, "n_samples": n},
    )


@pytest.fixture(scope="module")
def ds():
    return Dataset(name="toy", smiles=SMILES, y=Y, target_names=["y"], units=["u"])


@pytest.fixture(scope="module")
def split(ds):
    return toy_split(ds)


# test rows -> train positions (0..3)
GRAPH = SimpleNamespace(
    indptr=np.array([0, 2, 3, 4, 5]),
    indices=np.array([3, 2, 1, 2, 0]),
    similarities=np.array([0.8, 0.4, 0.6, 0.5, 0.2]),
)


def test_hand_worked_evaluation(split, ds):
    ev = evaluate(split, PRED, dataset=ds, n_bootstrap=200, reference_graph=GRAPH)
    assert isinstance(ev, Evaluation)
    g = ev.model["groups"]
    # test errors |ŷ - y|: 1.0 (cliff), 0.5 (smooth), 1.0 (cliff), 1.0 (unsupported)
    assert g["overall"]["mae"].value == pytest.approx(0.875)
    assert g["cliff"]["mae"].value == pytest.approx(1.0)
    assert g["smooth"]["mae"].value == pytest.approx(0.5)
    assert g["unsupported"]["n"] == 1 and g["intermediate"]["n"] == 0
    assert ev.gap().value == pytest.approx(0.5)
    assert ev.ratio().value == pytest.approx(2.0)
    # pairs of the cliff cases: (i=4, j=3) and (i=6, j=2)
    pc = ev.pairs["model"]["cliff"]
    assert pc["n"] == 2 and pc["n_with_partner_prediction"] == 2
    assert pc["diff_mae_true"].value == pytest.approx(1.0)      # = cliff MAE
    # |(4 - 3) - (5 - 4)| = 0 and |(2 - 2.5) - (1 - 3)| = 1.5
    assert pc["diff_mae"].value == pytest.approx(0.75)
    # sign(4 - 4) = 0: a tie counts 1/2; sign(2 - 3) = sign(1 - 3) (right)
    assert pc["direction_accuracy_true"].value == pytest.approx(0.75)
    # the partners' predictions are the model's own (in-sample): direction not computed
    assert np.isnan(pc["direction_accuracy"].value)
    oof = evaluate(split, PRED, dataset=ds, n_bootstrap=0, reference_graph=GRAPH,
                   partner_out_of_fold=True)
    assert oof.pairs["model"]["cliff"]["direction_accuracy"].value == pytest.approx(1.0)
    # reference: (0.8*4 + 0.4*3)/1.2, 2.0 (y of train row 1), 3.0, nearest row 0 -> 1.0
    ref = ev.reference["groups"]
    errs = np.abs(np.array([4.4 / 1.2, 2.0, 3.0, 1.0]) - Y[TEST])
    assert ref["overall"]["mae"].value == pytest.approx(errs.mean())
    assert ev.ratio(predictor="reference").value == pytest.approx(
        errs[[0, 2]].mean() / errs[1])
    assert ev.params["reference"]["min_similarity"] == 0.35
    assert ev.reference_predictions == pytest.approx([4.4 / 1.2, 2.0, 3.0, 1.0])


def test_partner_predictions_argument(split, ds):
    # the same pair metrics from test predictions plus per-case partner predictions
    partner_pred = np.array([PRED[3], PRED[1], PRED[2], np.nan])
    ev = evaluate(split, PRED[TEST], dataset=ds, n_bootstrap=50, reference=False,
                  partner_predictions=partner_pred)
    full = evaluate(split, PRED, dataset=ds, n_bootstrap=50, reference=False)
    assert ev.pairs["model"]["cliff"]["diff_mae"].value == pytest.approx(0.75)
    assert ev.to_dict()["pairs"] == full.to_dict()["pairs"]
    with pytest.raises(ShapeMismatchError, match="partner_predictions"):
        evaluate(split, PRED, dataset=ds, reference=False, partner_predictions=[1.0])


def test_outputs_are_serialisable(split, ds):
    ev = evaluate(split, PRED[TEST], dataset=ds, n_bootstrap=50, reference_graph=GRAPH)
    doc = json.loads(json.dumps(ev.to_dict(), allow_nan=False))
    assert doc["groups"]["cliff"]["mae"]["value"] == pytest.approx(1.0)
    assert doc["groups"]["intermediate"]["mae"]["value"] is None
    assert doc["contrasts"]["cliff_vs_smooth"]["ratio"]["value"] == pytest.approx(2.0)
    assert doc["pairs"]["n"] == 2 and doc["pairs_by_stratum"]["smooth"]["n"] == 1
    assert doc["reference"]["groups"]["overall"]["n"] == 4
    frame = ev.to_frame()
    assert set(frame["predictor"]) == {"model", "reference"}
    assert {"group", "n", "mae", "mae_low", "mae_high", "rmse", "r2"} <= set(frame.columns)
    assert ev.contrasts_frame().loc[0, "ratio"] == pytest.approx(2.0)
    text = ev.summary()
    assert "cliff vs smooth" in text and "reference" in text and "1.000" in text
    # only test predictions given: the partner version is unavailable and said so
    assert ev.pairs["model"]["cliff"]["n_with_partner_prediction"] == 0
    assert any("partner" in n for n in ev.notes)
    assert "Evaluation(" in repr(ev)


def test_seeded_and_deterministic(split, ds):
    a = evaluate(split, PRED, dataset=ds, n_bootstrap=100, random_state=3, reference=False)
    b = evaluate(split, PRED, dataset=ds, n_bootstrap=100, random_state=3, reference=False)
    assert a.to_dict() == b.to_dict()
    assert a.reference is None


def test_evaluate_rejects_bad_inputs(split, ds):
    bad = PRED.copy()
    bad[6] = np.nan
    with pytest.raises(PredictionsError, match="1 of 4 test molecules.*CCN"):
        evaluate(split, bad, dataset=ds, reference=False)
    with pytest.raises(ShapeMismatchError, match="one value per test molecule"):
        evaluate(split, PRED[:5], dataset=ds, reference=False)
    other = Dataset(name="toy", smiles=SMILES, y=Y + 1, target_names=["y"], units=["u"])
    with pytest.raises(SplitFileError, match="checksum"):
        evaluate(split, PRED, dataset=other, reference=False)
    with pytest.raises(UnknownNameError, match="target"):
        evaluate(split, PRED, dataset=ds, target="logP", reference=False)


# ------------------------------------------------------------ read_predictions
def _write(tmp_path, frame, name="preds.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_read_by_smiles_canonicalises(tmp_path, split):
    # non-canonical spellings; training rows included; an unknown molecule is ignored
    frame = pd.DataFrame({"smiles": ["C(C)CCC", "OCC", "NCC", "C1=CC=CC=C1", "CCCC", "CCCl"],
                          "prediction": [4.0, 2.0, 2.0, 1.0, 3.0, 9.9]})
    full = read_predictions(_write(tmp_path, frame), split)
    assert full[TEST] == pytest.approx([4.0, 2.0, 2.0, 1.0])
    assert full[3] == 3.0 and np.isnan(full[0])


def test_read_by_index_and_smiles_agreeing(tmp_path, split):
    frame = pd.DataFrame({"index": [5, 4, 6, 7], "smiles": ["OCC", "CCCCC", "CCN", "c1ccccc1"],
                          "prediction": [2.0, 4.0, 2.0, 1.0]})
    assert read_predictions(_write(tmp_path, frame), split)[TEST] == pytest.approx([4, 2, 2, 1])


def test_read_by_index_and_columns(tmp_path, split):
    frame = pd.DataFrame({"index": [4, 5, 6, 7], "y": [1.0, 2.0, 3.0, 4.0],
                          "other": [0.0] * 4})
    path = _write(tmp_path, frame)
    assert read_predictions(path, split, target="y")[TEST] == pytest.approx([1, 2, 3, 4])
    assert read_predictions(path, split, pred_col="other")[TEST] == pytest.approx([0] * 4)
    with pytest.raises(MissingColumnError, match="prediction column"):
        read_predictions(path, split)
    with pytest.raises(MissingColumnError, match="nope"):
        read_predictions(path, split, pred_col="nope")
    no_id = _write(tmp_path, pd.DataFrame({"prediction": [1.0]}), "noid.csv")
    with pytest.raises(MissingColumnError, match="'smiles' or an 'index'"):
        read_predictions(no_id, split)


@pytest.mark.parametrize("frame, pattern", [
    (pd.DataFrame({"smiles": ["CCCCC", "CCO"], "pred": [1.0, 2.0]}),
     r"misses 2 of 4 test molecules \(SMILES CCN, c1ccccc1"),
    (pd.DataFrame({"smiles": ["CCCCC", "CCO", "CCN", "c1ccccc1"],
                   "pred": [1.0, np.nan, 2.0, np.inf]}),
     r"NaN, inf or non-numeric .* for 2 test molecules \(lines 3, 5"),
    (pd.DataFrame({"smiles": ["CCCCC", "CCO", "CCN", "c1ccccc1", "OCC"],
                   "pred": [1.0, 2.0, 2.0, 1.0, 5.0]}),
     r"predicted more than once \(e.g. CCO on lines 3, 6\)"),
    (pd.DataFrame({"smiles": ["CCCCC", "C1CC", "CCN", "c1ccccc1"], "pred": [1.0] * 4}),
     r"1 SMILES could not be parsed .*lines 3"),
    (pd.DataFrame({"index": [4, 5, 7, 6], "smiles": ["CCCCC", "OCC", "CCN", "c1ccccc1"],
                   "pred": [1.0] * 4}),
     r"these predictions do not match this split's data: 'index' and 'smiles' disagree on 2 "
     r"of 4 rows \(line 4: in the split, row 7 is c1ccccc1, not CCN\)"),
    (pd.DataFrame({"index": [4, 5, 6, 70], "pred": [1.0] * 4}),
     r"'index' values are not row numbers in \[0, 8\) \(lines 5\)"),
])
def test_prediction_errors(tmp_path, split, frame, pattern):
    with pytest.raises(PredictionsError, match=pattern):
        read_predictions(_write(tmp_path, frame), split)


def test_label_column_of_another_tool_is_not_read_as_predictions(tmp_path, split, ds):
    """A chemprop-style file: the measured 'y' copied beside the model's 'pred_0'.

    Before the fix the target-named column (the labels) was taken as the predictions
    and every MAE printed 0.000.
    """
    smi = ["CCCCC", "CCO", "CCN", "c1ccccc1"]
    path = _write(tmp_path, pd.DataFrame({"smiles": smi, "y": Y[TEST], "pred_0": PRED[TEST]}))
    with pytest.raises(MissingColumnError, match=r"ambiguous: 'y' is named like the target .*"
                                                 r"'pred_0' is named like a prediction"):
        read_predictions(path, split, target="y", dataset=ds)
    with pytest.raises(MissingColumnError, match="ambiguous"):
        evaluate(split, path, dataset=ds, target="y", reference=False)
    assert read_predictions(path, split, pred_col="pred_0")[TEST] == pytest.approx(PRED[TEST])
    # only the label column, named like the target: refused, not scored as an error of 0
    labels_only = _write(tmp_path, pd.DataFrame({"smiles": smi, "y": Y[TEST]}), "labels.csv")
    with pytest.raises(PredictionsError, match=r"column 'y' equals the measured y values of "
                                                r"all 4 test molecules"):
        evaluate(split, labels_only, dataset=ds, target="y", reference=False)
    with pytest.raises(PredictionsError, match="holds the labels"):
        read_predictions(labels_only, split, pred_col="y", target="y", dataset=ds)
    # a model's predictions in a target-named column (chemprop's own output) still score
    own = _write(tmp_path, pd.DataFrame({"smiles": smi, "y": PRED[TEST]}), "own.csv")
    ev = evaluate(split, own, dataset=ds, target="y", reference=False)
    assert ev.mae().value == pytest.approx(0.875)  # |ŷ - y| = 1, 0.5, 1, 1


def test_a_repeated_prediction_column_name_is_refused(tmp_path, split):
    path = tmp_path / "two.csv"
    path.write_text("smiles,prediction,prediction\nCCCCC,4,0\nOCC,2,0\nCCN,2,0\nc1ccccc1,1,0\n")
    with pytest.raises(InvalidDataError, match=r"prediction column 'prediction' .*columns 2, 3"):
        read_predictions(path, split)


def test_missing_file(tmp_path, split):
    with pytest.raises(PredictionsError, match="does not exist"):
        read_predictions(tmp_path / "nope.csv", split)


def test_moleculeace_cliff_rmse_block(split):
    from cliffkit.cliffs import moleculeace_cliff_rmse

    flags = np.array([0, 1, 0, 1, 1, 0, 1, 1])
    ds = Dataset(name="toy", smiles=SMILES, y=Y, target_names=["y"], units=["u"],
                 meta={"cliff_mol": flags})
    ev = evaluate(split, PRED, dataset=ds, n_bootstrap=100, reference_graph=GRAPH)
    m = ev.moleculeace
    assert m["n"] == 3
    expect = moleculeace_cliff_rmse(Y[TEST], PRED[TEST], flags[TEST])
    assert m["cliff_rmse"].value == pytest.approx(expect)  # sqrt((1 + 1 + 1) / 3)
    assert expect == pytest.approx(1.0)
    assert "MoleculeACE cliff RMSE" in ev.summary()
    assert json.loads(json.dumps(ev.to_dict()))["moleculeace"]["n"] == 3
    # plain data has no such block
    assert evaluate(split, PRED, dataset=Dataset(name="toy", smiles=SMILES, y=Y,
                    target_names=["y"], units=["u"]), reference=False).moleculeace is None


def test_reference_graph_from_smiles_is_memoised(split, ds):
    from cliffkit.evaluate._evaluate import _reference_graph
    from cliffkit.similarity import compute_fingerprints, find_neighbors

    g1 = _reference_graph(split, ds, 2, False)
    assert _reference_graph(split, ds, 2, False) is g1
    fps = compute_fingerprints(SMILES)
    g = find_neighbors(fps[TEST], fps[TRAIN], k=2, min_similarity=0.0)
    assert np.array_equal(g1.indices, g.indices)
    a = evaluate(split, PRED, dataset=ds, n_bootstrap=20)
    b = evaluate(split, PRED, dataset=ds, n_bootstrap=20, reference_graph=g)
    assert a.to_dict() == b.to_dict()


@pytest.mark.slow
def test_real_evaluation_has_baseline_noise_floor_and_label_free_strata():
    """ESOL CliffSplit: every pair metric beside reference and training-mean baseline; the
    direction metric separates the model from the trivial baseline; noise floor from the
    merged replicates; label-free strata with their AUC."""
    import json
    import warnings

    from sklearn.linear_model import Ridge

    from cliffkit.data import load_dataset
    from cliffkit.similarity import compute_fingerprints
    from cliffkit.split import CliffSplit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_dataset("esol")
        res = CliffSplit(random_state=0).make_split(data)
    x = np.unpackbits(compute_fingerprints(data.smiles.tolist()), axis=1)
    y = data.target(None)
    pred = Ridge(alpha=10.0).fit(x[res.train], y[res.train]).predict(x)
    ev = evaluate(res, pred, dataset=data, n_bootstrap=200, n_noise_sim=50)
    model, base = ev.pairs["model"]["cliff"], ev.pairs["baseline"]["cliff"]
    assert base["direction_accuracy"].value == 0.5  # a constant predicts no direction: ties
    assert np.isnan(model["direction_accuracy"].value)  # in-sample partner predictions
    assert np.isfinite(ev.pairs["reference"]["cliff"]["direction_accuracy"].value)
    assert ev.baseline["groups"]["overall"]["mae"].value > ev.mae().value
    assert ev.noise["noise_sd"]["dof"] > 0 and ev.noise["floor"]["gap"].value < ev.gap().value
    assert 0.5 < ev.label_free["auc"] <= 1.0
    assert ev.roughness.shape == (res.test.size,)
    g = ev.model["groups"]
    # cut at the training molecules' 80th percentile (not the test set's own quantiles)
    assert g["roughest"]["n"] == int((ev.roughness >= ev.label_free["roughest_cut"]).sum())
    assert "label_free" in ev.model["contrasts"]
    text = ev.summary()
    assert "noise floor" in text and "label-free" in text and "baseline" in text
    json.dumps(ev.to_dict())


# ---------------------------------------------------------------------------
# Inputs that scored a wrong number without a word (reviewer h28: findings 1, 3, 4, 7, 9)

T2 = Y * 0.5 + np.array([0.3, -0.2, 0.1, 0.0, 0.4, -0.1, 0.2, -0.3])


@pytest.fixture(scope="module")
def two():
    """The toy split on a dataset with a second target, ``t2``."""
    ds = Dataset(name="toy", smiles=SMILES, y=np.column_stack([Y, T2]),
                 target_names=["y", "t2"], units=["u", "u"])
    return ds, toy_split(ds)


# ---------------------------------------- finding 1 (f10): a run of another target
def test_y_true_of_another_target_is_refused_naming_it(tmp_path, two):
    ds, split = two
    rows = np.arange(len(SMILES))
    frame = pd.DataFrame({"smiles": SMILES, "index": rows, "y_true": T2, "prediction": PRED})
    path = _write(tmp_path, frame)
    with pytest.raises(PredictionsError, match=r"y_true column .* is not target 'y': it differs "
                                                r"from the dataset's y values on 8 of 8 .*line 2.*"
                                                r"they are the 't2' values: the run was trained "
                                                r"on target 't2'.*--target t2"):
        read_predictions(path, split, dataset=ds, target="y")
    with pytest.raises(PredictionsError, match="trained on target 't2'"):
        evaluate(split, path, dataset=ds, target="y", n_bootstrap=0, reference=False)
    # the right target, and the same labels rounded to 2 decimals (another tool): read
    assert read_predictions(path, split, dataset=ds, target="t2")[TEST] == pytest.approx(PRED[TEST])
    frame["y_true"] = np.round(Y, 2)
    assert read_predictions(_write(tmp_path, frame), split, dataset=ds,
                            target="y")[TEST] == pytest.approx(PRED[TEST])
    # labels of no target at all: refused, without a target to suggest
    frame["y_true"] = Y + 1.0
    with pytest.raises(PredictionsError, match="made for other labels"):
        read_predictions(_write(tmp_path, frame), split, dataset=ds, target="y")


# ---------------------------------------- finding 3 (f2): a pandas Series' index
def test_a_series_indexed_by_dataset_row_is_aligned_on_its_index(split, ds):
    kw = dict(dataset=ds, n_bootstrap=0, reference=False, noise_sd=None, label_free=False)
    by_position = evaluate(split, PRED[TEST], **kw)
    order = TEST[[2, 0, 3, 1]]  # the same predictions, labelled by row, in another order
    ev = evaluate(split, pd.Series(PRED[order], index=order), **kw)
    assert ev.mae().value == pytest.approx(by_position.mae().value) == pytest.approx(0.875)
    assert any("aligned on their index" in n for n in ev.notes)
    # every row, training partners included, in reverse order: the pair metrics see them
    rows = np.arange(len(SMILES))[::-1]
    full = evaluate(split, pd.Series(PRED[rows], index=rows), **kw)
    assert full.pairs["model"]["cliff"]["diff_mae"].value == pytest.approx(0.75)
    # the default index (0, 1, 2 ...) is read by position, as before, without a note
    plain = evaluate(split, pd.Series(PRED[TEST]), **kw)
    assert plain.mae().value == pytest.approx(0.875)
    assert not any("aligned" in n for n in plain.notes)


@pytest.mark.parametrize("index, pattern", [
    (["CCCCC", "CCO", "CCN", "c1ccccc1"], r"'CCCCC', 'CCO', 'CCN', \.\.\. not in \[0, 8\)"),
    ([4, 5, 6, 80], r"80 not in \[0, 8\)"),
    ([4, 5, 5, 7], r"5 more than once"),
])
def test_a_series_with_another_index_is_refused(split, ds, index, pattern):
    with pytest.raises(PredictionsError, match=r"pandas Series whose index is not the dataset's "
                                                r"row numbers .*" + pattern):
        evaluate(split, pd.Series(PRED[TEST], index=index), dataset=ds, n_bootstrap=0,
                 reference=False)
    with pytest.raises(PredictionsError, match="partner_predictions is read by position"):
        evaluate(split, PRED[TEST], dataset=ds, n_bootstrap=0, reference=False,
                 partner_predictions=pd.Series([3.0, 2.0, 2.5, np.nan], index=TEST))


# ---------------------------------------- finding 7 (f4): the split's standardize mode
def test_salt_smiles_match_their_parent_when_the_data_kept_the_largest_fragment(tmp_path, ds):
    """Data loaded with standardize='fragment' holds parents; a predictions file (the
    data's own SMILES, or 'cliffkit predict' output) spells the salts: it was refused as
    'misses 2 of 4 test molecules'."""
    import dataclasses

    from cliffkit.data._dataset import LoadReport

    frame = pd.DataFrame({"smiles": ["CCCCC.Cl", "[Na+].OCC", "CCN", "c1ccccc1"],
                          "prediction": PRED[TEST]})
    path = _write(tmp_path, frame)
    split = toy_split(ds)
    split.dataset = {**split.dataset, "standardize": "fragment"}  # as a split file records it
    assert read_predictions(path, split)[TEST] == pytest.approx(PRED[TEST])
    # a split made in Python: the mode is the dataset's own
    frag = dataclasses.replace(ds, report=LoadReport(standardize="fragment"))
    assert read_predictions(path, toy_split(frag), dataset=frag)[TEST] == pytest.approx(PRED[TEST])
    # kept as written: the salts are other molecules, and said so
    with pytest.warns(DataWarning, match="2 of 4 rows name molecules that are not in the"), \
            pytest.raises(PredictionsError, match="misses 2 of 4 test molecules"):
        read_predictions(path, toy_split(ds))


# ---------------------------------------- finding 4 (f1): partners predicted in part
def test_pair_metrics_of_all_predictors_over_the_pairs_whose_partner_is_predicted(split, ds):
    """Cliff pairs (4, 3) and (6, 2); the model's prediction of partner 2 missing. The
    model's |Δŷ−Δy| was over 1 pair and the reference's and baseline's beside it over 2."""
    pred = PRED.copy()
    pred[2] = np.nan
    ev = evaluate(split, pred, dataset=ds, n_bootstrap=0, reference_graph=GRAPH,
                  noise_sd=None, label_free=False)
    pm, pr, pb = (ev.pairs[w]["cliff"] for w in ("model", "reference", "baseline"))
    assert pm["n"] == pr["n"] == pb["n"] == 2
    assert pm["n_with_partner_prediction"] == pr["n_with_partner_prediction"] == 1
    assert pb["n_with_partner_prediction"] == 1
    assert pm["diff_mae"].value == pytest.approx(0.0)   # |(4 - 3) - (5 - 4)|
    assert pb["diff_mae"].value == pytest.approx(1.0)   # |0 - (5 - 4)|; pair (6, 2) left out
    assert pb["diff_mae_true"].value == pytest.approx(2.0)  # true-partner metrics: both pairs
    assert pm["diff_mae_true"].value == pytest.approx(1.0)  # (|2.5 - 5| + |2.5 - 1|) / 2, cliff MAE
    text = ev.summary()
    assert "pairs vs training partner (cliff, n=2; these metrics over the 1 whose partner is " \
           "predicted)" in text
    assert any("training partner of only 1 of 2 cliff pairs" in n for n in ev.notes)
    # every partner predicted, or none: as before (all pairs; none: reference on all pairs)
    full = evaluate(split, PRED, dataset=ds, n_bootstrap=0, reference_graph=GRAPH,
                    noise_sd=None, label_free=False)
    assert full.pairs["baseline"]["cliff"]["diff_mae"].value == pytest.approx(1.5)
    none = evaluate(split, PRED[TEST], dataset=ds, n_bootstrap=0, reference_graph=GRAPH,
                    noise_sd=None, label_free=False)
    assert none.pairs["reference"]["cliff"]["n_with_partner_prediction"] == 2
    assert "whose partner is predicted" not in none.summary()


# ---------------------------------------- finding 9 (f9): another tool's copied 'split'
def test_a_copied_split_column_is_refused_with_what_is_known_and_both_ways_on(tmp_path, ds):
    """Another tool's output copies its input's columns, a MoleculeACE set's own 'split'
    included; it was refused with "N of this split's test molecules were in that run's
    training set", which cliffkit cannot know (no split_checksum)."""
    import dataclasses

    own = np.array(["train", "train", "test", "train", "train", "train", "test", "test"])
    mace = dataclasses.replace(ds, meta={**ds.meta, "moleculeace_split": own})
    split = toy_split(mace)
    frame = pd.DataFrame({"smiles": SMILES, "split": own, "prediction": PRED})
    path = _write(tmp_path, frame)
    with pytest.raises(PredictionsError) as err:
        read_predictions(path, split, dataset=mace, target="y")
    msg = str(err.value)
    assert "'split' column marks 2 of this split's 4 test molecules as 'train' (2)" in msg
    assert "exactly as the MoleculeACE set's own 'split' column" in msg
    assert "no 'split_checksum' column" in msg and "that run's training" not in msg
    assert "--method predefined --split-col split" in msg
    assert "drop or rename the file's 'split' column" in msg
    # another split in the column (not the input's): the same refusal, without 'exactly'
    frame["split"] = ["train"] * 5 + ["test"] * 3
    with pytest.raises(PredictionsError, match="marks 1 of this split's 4") as err:
        read_predictions(_write(tmp_path, frame), split, dataset=mace, target="y")
    assert "exactly as" not in str(err.value)
    # the column renamed, as the message says: scored
    frame = frame.rename(columns={"split": "input_split"})
    assert read_predictions(_write(tmp_path, frame), split, dataset=mace,
                            target="y")[TEST] == pytest.approx(PRED[TEST])
