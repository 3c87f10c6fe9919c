"""The split's similarity parameters reach the loss through every entry point.

A split made at ``min_similarity=0.5`` must train CliffLoss on severities at 0.5 (not at
the 0.35 default): ``cliffkit train``, ``cliffkit weights``, the bench cell, the chemprop
adapter and the Python API give the same weights, and they differ from the weights at
0.35 on the same training set (the bug of issue 16).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliffkit.cli import main
from cliffkit.data import load_dataset
from cliffkit.experiment import build_loss
from cliffkit.loss import cliff_severity, cliff_weights, to_mean_one
from cliffkit.models import Backbone
from cliffkit.split import CliffSplit, load_split

LAM = 0.5
pytestmark = pytest.mark.filterwarnings("ignore::cliffkit.errors.SplitWarning")


class _Stop(BaseException):
    """Raised by the patched fit once it has seen the weights (no training needed)."""


@pytest.fixture(scope="module")
def freesolv():
    return load_dataset("freesolv")


@pytest.fixture(scope="module")
def split05(freesolv, tmp_path_factory):
    path = tmp_path_factory.mktemp("split") / "split05.json"
    CliffSplit(min_similarity=0.5, k=8, random_state=0, n_jobs=1).make_split(freesolv).save(path)
    return path


@pytest.fixture
def captured(monkeypatch):
    seen: dict[str, np.ndarray] = {}

    def fake_fit(self, train, val, *, sample_weight=None, **kwargs):
        seen["w"] = np.asarray(sample_weight, dtype=np.float64)
        raise _Stop

    monkeypatch.setattr(Backbone, "fit", fake_fit)
    return seen


def _api(ds, path):
    split = load_split(path, dataset=ds)
    spec = build_loss("cliff", ds, split, lam=LAM)
    assert spec.severity_params["min_similarity"] == 0.5
    assert spec.severity_params["k"] == 8
    return spec.sample_weight(mean_one=True)


def test_split_records_its_similarity_params(freesolv, split05):
    sim = load_split(split05, dataset=freesolv).similarity_params
    assert sim["min_similarity"] == 0.5 and sim["k"] == 8
    assert sim["radius"] == 2 and sim["n_bits"] == 2048 and sim["m"] == 2


def test_weights_cli_uses_the_split_params(freesolv, split05, tmp_path):
    out = tmp_path / "w.csv"
    assert main(["weights", "freesolv", "--split", str(split05), "--loss", "cliff",
                 "--lam", str(LAM), "-o", str(out)]) == 0
    got = pd.read_csv(out)["weight"].to_numpy()
    np.testing.assert_allclose(got, _api(freesolv, split05), rtol=1e-9, atol=0)


def test_train_cli_uses_the_split_params(freesolv, split05, tmp_path, captured):
    with pytest.raises(_Stop):
        main(["train", "freesolv", "--split", str(split05), "--backbone", "lgbm",
              "--loss", "cliff", "--lam", str(LAM), "-o", str(tmp_path / "run"), "--quiet"])
    np.testing.assert_array_equal(captured["w"], _api(freesolv, split05))


def test_bench_cell_uses_the_split_params(freesolv, split05, captured):
    from cliffkit.bench._cell import run_cell
    from cliffkit.bench._config import Cell

    cell = Cell(dataset="freesolv", target=freesolv.target_names[0], subsample=None,
                subsample_seed=0, split="cliff", split_params={"min_similarity": 0.5, "k": 8},
                backbone="lgbm", backbone_params={}, loss="cliff", loss_params={"lam": LAM},
                seed=0)
    with pytest.raises(_Stop):
        run_cell(cell, split05)
    np.testing.assert_array_equal(captured["w"], _api(freesolv, split05))


def test_chemprop_adapter_uses_the_split_params(freesolv, split05, tmp_path, monkeypatch):
    from cliffkit.models import _chemprop

    seen = {}

    def fake_train(self, smiles, y, weight, splits, workdir, log_path):
        seen["w"] = np.asarray(weight)[splits["train"]]
        raise _Stop

    monkeypatch.setattr(_chemprop, "chemprop_command", lambda command=None: ["chemprop"])
    monkeypatch.setattr(_chemprop.ChempropBackbone, "_train", fake_train)
    with pytest.raises(_Stop):
        _chemprop.fit_chemprop_split(freesolv, split05, loss="cliff", loss_params={"lam": LAM},
                                     output_dir=tmp_path)
    np.testing.assert_allclose(seen["w"], _api(freesolv, split05), rtol=1e-12)


def test_weights_differ_from_the_default_similarity(freesolv, split05):
    """The weights at the split's 0.5 are not those of the old default (0.35, k from n)."""
    split = load_split(split05, dataset=freesolv)
    old = cliff_severity(freesolv, train_idx=split.train)  # what the bug computed
    assert old.supported.sum() > cliff_severity(freesolv, train_idx=split.train,
                                                min_similarity=0.5, k=8).supported.sum()
    w_old = to_mean_one(cliff_weights(old, LAM))
    assert not np.allclose(w_old, _api(freesolv, split05))


def test_default_split_weights_are_what_the_old_code_computed(freesolv):
    """At the defaults (0.35, ECFP4-2048, k from the training size) the split's parameters are
    the ones the old code assumed, so the fix changes no weight there: only a split made with
    other similarity parameters (e.g. ``--min-sim 0.5`` above) trains on other weights."""
    split = CliffSplit(random_state=0, n_jobs=1).make_split(freesolv)
    assert split.similarity_params["min_similarity"] == 0.35
    old = to_mean_one(cliff_weights(cliff_severity(freesolv, train_idx=split.train), LAM))
    new = build_loss("cliff", freesolv, split, lam=LAM).sample_weight(mean_one=True)
    np.testing.assert_array_equal(new, old)
