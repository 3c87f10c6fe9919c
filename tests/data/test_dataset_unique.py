"""A Dataset holds each molecule once (review h42 F8 follow-up).

``Dataset`` documented "RDKit canonical SMILES, unique" but never checked it: one built by
hand from replicate measurements made a replicate its molecule's cliff partner at
similarity 1.0 and could put the two replicates on both sides of a split. Now the
Dataset refuses a repeated SMILES, and ``subset`` refuses repeated rows.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cliffkit.data import Dataset, load_dataset
from cliffkit.errors import InvalidDataError, InvalidParameterError

SMILES = ["CCO", "c1ccccc1", "CCN", "c1ccccc1", "CCCl", "CCO", "c1ccccc1"]


def _ds(smiles, name="replicates"):
    return Dataset(name=name, smiles=np.array(smiles, dtype=object),
                   y=np.arange(len(smiles), dtype=float), target_names=["t"], units=["u"])


def test_a_hand_built_dataset_with_a_repeated_smiles_is_refused():
    with pytest.raises(InvalidDataError) as err:
        _ds(SMILES)
    msg = str(err.value)
    assert "\n" not in msg
    assert "Dataset 'replicates': 2 SMILES occur on more than one row (3 repeated rows of 7)" in msg
    assert "e.g. 'CCO' at rows 0, 5 (0-based)" in msg
    assert "merge replicates first, e.g. with load_dataset" in msg
    _ds(sorted(set(SMILES)))  # distinct molecules are accepted


def test_replace_cannot_bring_a_repeat_in():
    ds = _ds(["CCO", "CCN", "CCCl"])
    with pytest.raises(InvalidDataError, match="'CCO' at rows 0, 2"):
        dataclasses.replace(ds, smiles=np.array(["CCO", "CCN", "CCO"], dtype=object))


def test_subset_refuses_repeated_rows():
    ds = load_dataset("freesolv")
    with pytest.raises(InvalidParameterError,
                       match=r"'freesolv'.subset: indices repeat rows \(2 repeats, e.g. row 3 at "
                             r"positions \[0, 2\]\).*a bootstrap resamples arrays"):
        ds.subset([3, 1, 3, 5, 5])
    n = len(ds)
    with pytest.raises(InvalidParameterError, match=f"row {n - 1} at positions"):
        ds.subset([n - 1, -1])  # a negative position is the same row
    assert list(ds.subset([2, -1]).smiles) == [ds.smiles[2], ds.smiles[-1]]


def test_subset_takes_a_boolean_mask_as_a_mask():
    """A mask was cast to the positions 0 and 1 (rows 1, 0, 1, ...)."""
    ds = load_dataset("freesolv")
    mask = np.zeros(len(ds), dtype=bool)
    mask[[2, 7, 9]] = True
    sub = ds.subset(mask)
    assert list(sub.smiles) == list(ds.smiles[[2, 7, 9]])
    assert list(sub.meta["source_row"]) == list(ds.meta["source_row"][[2, 7, 9]])
    with pytest.raises(InvalidParameterError, match=rf"boolean mask needs shape \({len(ds)},\)"):
        ds.subset(mask[:10])
