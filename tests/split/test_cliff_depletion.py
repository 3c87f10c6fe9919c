"""Training cliff depletion is recorded by CliffSplit and shown in its summary."""

from __future__ import annotations

import warnings

import numpy as np

from cliffkit.cliffs import assign_strata, compute_severity
from cliffkit.data import load_dataset
from cliffkit.similarity import compute_fingerprints, find_neighbors
from cliffkit.split import CliffSplit, format_summary, load_split, summarize_split


def test_depletion_counts_full_data_cliffs_left_in_training(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset("esol")
        res = CliffSplit(random_state=0).make_split(ds)
    dep = res.info["train_cliff_depletion"]
    # independent recount: cliffs of the all-molecule top-k graph
    k = res.params["k_used"]
    g = find_neighbors(compute_fingerprints(ds.smiles.tolist()), k=k, min_similarity=0.35)
    flag = assign_strata(compute_severity(g, ds.target(None))).labels == "cliff"
    assert dep["full_data_cliff"] == int(flag.sum())
    assert dep["in_train"] == int(flag[res.train].sum())
    assert dep["share_in_train"] < dep["train_fraction"]  # depleted relative to a random split
    assert summarize_split(res)["train_cliff_depletion"] == dep
    assert "training cliff depletion" in format_summary(res)
    res.save(tmp_path / "s.json")
    back = load_split(tmp_path / "s.json", dataset=ds).info["train_cliff_depletion"]
    assert back == {k: (round(v, 10) if isinstance(v, float) else v) for k, v in dep.items()}
    assert np.isfinite(dep["share_in_train"])
