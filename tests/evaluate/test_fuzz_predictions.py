"""Issue 14, "Also": whatever a predictions file holds, ``evaluate`` gives a result, a
warning or a one-line ``CliffkitError``, never a traceback (library and CLI)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cliffkit.cli import main
from cliffkit.data import load_dataset
from cliffkit.errors import CliffkitError
from cliffkit.evaluate import Evaluation, evaluate, read_predictions
from cliffkit.split import SplitResult, TargetLabels

SMILES = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCO", "CCN", "c1ccccc1"]
Y = [1.0, 2.0, 3.0, 4.0, 5.0, 2.5, 1.0, 0.0]
_counter = itertools.count()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz_pred")
    pd.DataFrame({"smiles": SMILES, "y": Y}).to_csv(root / "mols.csv", index=False)
    ds = load_dataset(root / "mols.csv")
    n = len(ds)
    strata = np.array(["train"] * 4 + ["cliff", "smooth", "cliff", "unsupported"], dtype="<U12")
    nan, false = np.full(n, np.nan), np.zeros(n, dtype=bool)
    sim = np.array([np.nan] * 4 + [0.8, 0.6, 0.5, 0.1])
    labels = TargetLabels(
        target="y", strata=strata, severity=nan, partner=np.array([-1] * 4 + [3, 1, 2, -1]),
        partner_similarity=sim, partner_delta=nan, max_similarity=sim, abs_z=nan,
        matched_cliff=false, matched_smooth=false, matched_cliff_z=false, matched_smooth_z=false,
        scale=1.0, cliff_threshold=0.5, smooth_threshold=0.2,
    )
    split = SplitResult(
        train=np.arange(4), val=np.zeros(0, dtype=np.int64), test=np.arange(4, 8),
        smiles=ds.smiles, target_names=["y"], labels={"y": labels}, method="cliff",
        params={"min_similarity": 0.35, "k": 2, "k_used": 2, "radius": 2, "n_bits": 2048},
        dataset={"name": ds.name, "checksum": ds.checksum, "n_samples": n},
    )
    split.save(root / "split.json")
    return root, ds, split


IDS = st.one_of(st.sampled_from(SMILES + ["OCC", "C(", "", "Xx", "[Na+].[Cl-]", " CCO "]),
                st.integers(-3, 12).map(str), st.sampled_from(["1.5", "nan", "NA", "abc"]))
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1", "-2.5", "1e308", "1e999", "nan", "", "NA", "abc", "3,5", "—"]),
)
PARTS = st.sampled_from(["train", "val", "test", "", "validation", "TEST", "x"])
CHECKS = st.sampled_from(["", "0123456789abcdef", "zz", "nan"])
COLUMNS = st.lists(st.sampled_from(["smiles", "index", "prediction", "pred", "y_pred", "y",
                                    "split", "split_checksum", "other", "SMILES"]),
                   min_size=0, max_size=5)


@st.composite
def prediction_files(draw):
    cols = draw(COLUMNS)
    n = draw(st.integers(0, 10))
    gen = {"smiles": IDS, "SMILES": IDS, "index": IDS, "split": PARTS, "split_checksum": CHECKS}
    rows = [[draw(gen.get(c, VALUES)) for c in cols] for _ in range(n)]
    sep = draw(st.sampled_from([",", ";", "\t"]))

    def cell(v: str) -> str:
        return f'"{v}"' if (sep in v or '"' in v or "\n" in v) else v

    text = "\n".join([sep.join(cols)] + [sep.join(cell(v.replace('"', "")) for v in r)
                                         for r in rows])
    if draw(st.booleans()):  # a complete, valid file now and then, to reach the scoring
        text = "index,prediction\n" + "\n".join(f"{i},{draw(VALUES)}" for i in range(8))
    return text


def _one_line(exc: BaseException) -> None:
    msg = str(exc)
    assert msg.strip() and "Traceback" not in msg


@settings(max_examples=60)
@given(text=prediction_files(), encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_library_never_tracebacks(setup, text, encoding):
    root, ds, split = setup
    path = root / f"p{next(_counter)}.csv"
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            full = read_predictions(path, split)
        except CliffkitError as exc:
            _one_line(exc)
            return
        assert full.shape == (len(ds),) and np.isfinite(full[split.test]).all()
        ev = evaluate(split, path, dataset=ds, n_bootstrap=50, reference=False)
    assert isinstance(ev, Evaluation) and ev.n_test == 4
    y = ds.target("y")
    with np.errstate(over="ignore"):
        mae = float(np.mean(np.abs(full[split.test] - y[split.test])))
    got = ev.mae().value
    assert got == pytest.approx(mae, rel=1e-12) or (math.isinf(got) and math.isinf(mae))
    assert "overall" in ev.summary()
    ev.to_dict()


@settings(max_examples=25)
@given(text=prediction_files())
def test_cli_never_tracebacks(setup, text, capsys):
    root, ds, split = setup
    path = root / f"c{next(_counter)}.csv"
    path.write_text(text, encoding="utf-8")
    rc = main(["evaluate", str(root / "split.json"), str(path), "--n-bootstrap", "50",
               "--no-reference", "--dataset", str(root / "mols.csv")])
    out, err = capsys.readouterr()
    assert rc in (0, 2)
    errors = [line for line in err.splitlines() if not line.startswith("cliffkit: warning: ")]
    if rc == 2:
        assert len(errors) == 1 and errors[0].startswith("cliffkit: error: "), err
    else:
        assert not errors and "overall" in out


@settings(max_examples=40)
@given(preds=st.one_of(
    st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
                       st.none()), max_size=9),
    st.sampled_from([None, "", 3.0, {"a": 1}, np.zeros((2, 4)), np.array(["x"] * 4)]),
))
def test_array_predictions_never_traceback(setup, preds):
    root, ds, split = setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ev = evaluate(split, preds, dataset=ds, n_bootstrap=0, reference=False)
        except CliffkitError as exc:
            _one_line(exc)
            return
    assert ev.n_test == 4
