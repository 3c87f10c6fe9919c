"""find_neighbors_distributed's params, merged from its tasks (no Ray needed)."""

from __future__ import annotations

import numpy as np

from cliffkit.similarity import compute_fingerprints, find_neighbors
from cliffkit.similarity._distributed import _merge_task_params, _search_block


def test_task_params_are_merged_into_the_local_keys():
    # h46 F4 (distributed): the docstring promised the local search's keys, but only
    # backend and seconds were carried over (pair counts, sketch ... were lost)
    fps = compute_fingerprints(["CCO", "CCN", "CCC", "c1ccccc1", "CCCCO", "CC(=O)O"] * 10)
    local = find_neighbors(fps, k=3, n_jobs=1)
    rows = [list(range(0, 30)), list(range(30, 60))]
    tasks = [_search_block(fps, fps, np.asarray(r), 3, 0.35, True, "auto",
                           None, 1)[3] for r in rows]
    params = {k: local.params[k] for k in ("k", "min_similarity", "exclude_self", "n_bits")}
    merged = _merge_task_params(params, tasks)
    assert set(local.params) - {"seconds"} <= set(merged)
    assert merged["k"] == 3  # the defining keys are the search's, not a task's (k + 1)
    assert merged["pairs_scored"] == sum(t["pairs_scored"] for t in tasks)
    assert merged["pairs_bounded"] == sum(t["pairs_bounded"] for t in tasks)
    assert merged["backend"] == local.params["backend"] and merged["tasks"] == 2


def test_disagreeing_diagnostics_become_a_list():
    merged = _merge_task_params({"k": 2}, [{"sketch": "a", "seconds": 1.0}, {"sketch": "b"}])
    assert merged == {"k": 2, "sketch": ["a", "b"], "tasks": 2}
