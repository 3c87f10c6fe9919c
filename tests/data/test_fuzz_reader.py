"""Fuzz the CSV reader as a user meets it (issue 14, "Also"): through ``read_table``,
``cliffkit describe`` and ``cliffkit predict``. Whatever the file holds (encodings,
delimiters, whitespace inside SMILES, names after SMILES, censored and missing values,
several targets), the answer is a result, warnings, or one ``cliffkit: error:`` line
with exit code 2 — never a traceback."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cliffkit.cli import main
from cliffkit.data import read_table
from cliffkit.errors import CliffkitError

_counter = itertools.count()

SMILES = st.sampled_from([
    "CCO", "c1ccccc1", "C C O", "CCO ethanol", " CCO ", "CC(C)Cc1ccc(cc1)C(C) C(=O)O",
    "CC(=O)Oc1ccccc1C(=O)[O-].[Na+]", "C[C@H](N)C(=O)O", "[2H]C([2H])([2H])O", "C1CC",
    "NA", "", "c1ccc\tcc1", "Xx", "é", "CCN",
])
VALUES = st.sampled_from(["1", "-2.5", "1e3", ">10", "<0.1", "", "NA", "inf", "abc", "3,5", "nan"])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1"])
SEPS = st.sampled_from([",", ",", ";", "\t", "|"])


@st.composite
def files(draw):
    n_targets = draw(st.integers(0, 2))
    header = ["smiles"] + [f"t{j}" for j in range(n_targets)] + draw(st.sampled_from([[], ["name"]]))
    rows = draw(st.lists(st.tuples(SMILES, *[VALUES] * n_targets, st.text(max_size=6)),
                         min_size=0, max_size=8))
    sep = draw(SEPS)
    lines = [sep.join(header)]
    for r in rows:
        cells = list(r[: len(header)])
        lines.append(sep.join(c.replace(sep, " ") for c in cells))
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines) + "\n"
    enc = draw(ENCODINGS)
    data = text.encode(enc, errors="replace")
    targets = [f"t{j}" for j in range(n_targets)] if n_targets and draw(st.booleans()) else []
    return data, targets


def _one_line_or_ok(rc: int, err: str) -> None:
    assert "Traceback" not in err
    assert rc in (0, 2), err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    # every message is a cliffkit line (progress bars are off: not a terminal)
    assert all(ln.startswith("cliffkit: ") for ln in lines), err
    if rc == 2:
        assert len([ln for ln in lines if ln.startswith("cliffkit: error:")]) == 1, err


@settings(max_examples=40)
@given(f=files())
def test_read_table_result_or_one_error(tmp_path, f):
    data, _ = f
    path = tmp_path / f"r{next(_counter)}.csv"
    path.write_bytes(data)
    try:
        table = read_table(path)
    except CliffkitError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
        return
    assert len(table) == len(table.lines) > 0


@pytest.mark.cli
@settings(max_examples=40)
@given(f=files())
def test_describe_never_tracebacks(tmp_path, capsys, f):
    data, targets = f
    path = tmp_path / f"d{next(_counter)}.csv"
    path.write_bytes(data)
    capsys.readouterr()
    args = ["describe", str(path), "--json"]
    for t in targets:
        args += ["--target-col", t]
    rc = main(args)
    _one_line_or_ok(rc, capsys.readouterr().err)


@pytest.fixture(scope="module")
def lgbm_run(tmp_path_factory, data_dir):
    """A tiny lgbm run to predict with."""
    import pandas as pd

    root = tmp_path_factory.mktemp("fuzz_predict")
    src = pd.read_csv(data_dir / "esol.csv").iloc[:120]
    data = root / "esol120.csv"
    src[["smiles", "measured log solubility in mols per litre"]].rename(
        columns={"measured log solubility in mols per litre": "logS"}).to_csv(data, index=False)
    split = root / "split.json"
    assert main(["split", str(data), "--method", "random", "-o", str(split), "--quiet"]) == 0
    run = root / "run"
    assert main(["train", str(data), "--split", str(split), "--backbone", "lgbm",
                 "--param", "n_estimators=20", "--param", "n_bits=256", "-o", str(run),
                 "--quiet"]) == 0
    return run


@pytest.mark.cli
@settings(max_examples=25)
@given(f=files())
def test_predict_never_tracebacks(tmp_path, capsys, lgbm_run, f):
    data, _ = f
    path = tmp_path / f"p{next(_counter)}.csv"
    path.write_bytes(data)
    capsys.readouterr()
    rc = main(["predict", str(lgbm_run), str(path), "-o", str(tmp_path / "out.csv"), "--quiet"])
    _one_line_or_ok(rc, capsys.readouterr().err)
