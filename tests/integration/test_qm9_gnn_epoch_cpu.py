"""benchmarks/qm9_gnn_epoch_cpu.py on a QM9 subsample: the first batches of one epoch of
gin, dmpnn and schnet (DFT geometries), timed and extrapolated to the epoch (issue 20)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "qm9_gnn_epoch_cpu.py"


def _script():
    spec = importlib.util.spec_from_file_location("qm9_gnn_epoch_cpu", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_batches_are_the_trainers_epoch_cut_short():
    mod = _script()
    s = mod.TimedBatches(10, 4, 2, seed=0)
    assert s.n_epoch_batches == 3 and [len(b) for b in s.batches] == [4, 4]
    whole = mod.TimedBatches(10, 4, 0, seed=0)
    assert sorted(int(i) for b in whole.batches for i in b) == list(range(10))
    assert list(iter(s)) and s.t_first is not None and s.t_last is not None


def test_epoch_cost_records(tmp_path, data_dir):
    mod = _script()
    out = tmp_path / "cost.jsonl"
    assert mod.main(["--subsample", "400", "--max-batches", "gin=2,dmpnn=2,schnet=2",
                     "--out", str(out)]) == 0
    recs = {r["backbone"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(recs) == {"gin", "dmpnn", "schnet"}
    for r in recs.values():
        assert r["epoch_batches"] == math.ceil(r["n_train"] / r["batch_size"])
        assert r["batches_timed"] == 2 and r["extrapolated"] is True and r["threads"] == 1
        assert r["train_cpu_s"] > 0 and r["per_batch_cpu_s"] > 0
        # the epoch: every batch at the measured mean, plus one validation pass
        assert abs(r["epoch_cpu_s"] - (r["per_batch_cpu_s"] * r["epoch_batches"]
                                       + r["val_pass_cpu_s"])) < 0.1
        assert r["default_epochs"] > 1  # the cell's budget, not the 1 epoch run here
    assert recs["schnet"]["geometry_counts"] == {"qm9": recs["schnet"]["n_train"]}  # DFT only
