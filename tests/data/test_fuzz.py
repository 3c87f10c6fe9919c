"""Property: whatever the file holds, the loader returns a valid Dataset or raises a CliffkitError."""

from __future__ import annotations

import gzip
import itertools
import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cliffkit.data import Dataset, load_dataset
from cliffkit.errors import CliffkitError

_counter = itertools.count()

SMILES = st.sampled_from(["CCO", "c1ccccc1", "C1CC", "N#N", "[Na+].[Cl-]", "Xx", "", "C(", "OCC", "CC=O"])
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1", "-2.5", "1e3", "nan", "inf", "-", "NA", "abc", "3,5", "0x1F", "1_0", ""]),
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
SEPARATORS = st.sampled_from([",", ";", "\t", "|", " "])
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])


def check(result: object) -> None:
    assert isinstance(result, Dataset)
    n = len(result)
    assert n > 0
    assert result.y.shape == (n, len(result.target_names))
    # finite, except a multi-target molecule may lack some (not all) targets (issue 14)
    assert not np.isinf(result.y).any()
    assert np.isfinite(result.y).any(axis=1).all()
    assert result.y.shape[1] > 1 or np.isfinite(result.y).all()
    assert len(set(result.smiles.tolist())) == n
    assert result.report.n_final == n
    assert result.meta["source_row"].shape == (n,)


def run_loader(path, **kwargs) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = load_dataset(path, **kwargs)
        except CliffkitError as exc:
            assert str(exc).strip()
            return
    check(ds)


@settings(max_examples=40)
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".tsv", ".csv.gz", ".parquet", ".txt"]))
def test_random_bytes(tmp_path, data, suffix):
    path = tmp_path / f"f{next(_counter)}{suffix}"
    path.write_bytes(data)
    run_loader(path)


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["drop_field", "add_field", "garbage", "quote", "sep", "blank", "dup"]),
        st.integers(0, 50),
        st.integers(0, 50),
    ),
    max_size=3,
)


@st.composite
def tables(draw):
    """A valid-looking table (smiles + 1-2 targets), then a few random mutations."""
    n_targets = draw(st.integers(1, 2))
    extra = draw(st.booleans())
    header = ["smiles"] + [f"y{j}" for j in range(n_targets)] + (["note"] if extra else [])
    header[0] = draw(st.sampled_from(["smiles", "SMILES", "Smiles", "smi"]))
    row = st.tuples(SMILES, *[NUMBERS] * n_targets, *([TEXT] if extra else []))
    rows = [list(r) for r in draw(st.lists(row, min_size=0, max_size=8))]
    for kind, i, j in draw(MUTATIONS):
        if not rows:
            break
        r = rows[i % len(rows)]
        if kind == "drop_field" and r:
            r.pop(j % len(r))
        elif kind == "add_field":
            r.insert(j % (len(r) + 1), draw(NUMBERS))
        elif kind == "garbage" and r:
            r[j % len(r)] = draw(TEXT)
        elif kind == "quote" and r:
            r[j % len(r)] = '"' + r[j % len(r)]
        elif kind == "sep" and r:
            r[j % len(r)] = r[j % len(r)] + draw(SEPARATORS)
        elif kind == "blank":
            rows.insert(i % (len(rows) + 1), [])
        elif kind == "dup":
            rows.append(list(r))
    target = draw(st.one_of(st.none(), st.sampled_from(header + ["missing"])))
    return header, rows, target


@settings(max_examples=60)
@given(
    table=tables(),
    sep=st.sampled_from([",", ",", ",", ";", "\t"]),
    newline=NEWLINES,
    quote=st.booleans(),
    gz=st.booleans(),
)
def test_malformed_csv(tmp_path, table, sep, newline, quote, gz):
    header, rows, target = table

    def cell(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if quote else c

    lines = [sep.join(cell(h) for h in header)] + [sep.join(cell(c) for c in r) for r in rows]
    data = newline.join(lines).encode("utf-8", "surrogatepass")
    suffix = ".csv.gz" if gz else ".csv"
    if gz:
        data = gzip.compress(data)
    path = tmp_path / f"m{next(_counter)}{suffix}"
    path.write_bytes(data)
    run_loader(path, target_cols=target)
