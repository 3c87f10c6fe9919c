"""Noise floor and noise_sd: the Crippen-logP simulation (done-when) and the estimators."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from cliffkit.data import load_dataset
from cliffkit.errors import InvalidParameterError
from cliffkit.evaluate._noise import estimate_noise_sd, noise_floor


@pytest.fixture(scope="module")
def esol_logp():
    from rdkit import Chem
    from rdkit.Chem import Crippen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset("esol")
    logp = np.array([Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in ds.smiles])
    return ds, logp


@pytest.mark.slow
@pytest.mark.parametrize("sigma", [0.25, 0.5, 1.0])
def test_floor_contains_oracle_gap_on_noisy_crippen_logp(esol_logp, sigma):
    """Done-when: noise-free target + N(0, σ²) labels; the oracle (true logP) gap is in the floor."""
    from cliffkit.split import CliffSplit

    ds, logp = esol_logp
    y = logp + np.random.default_rng(10).normal(0.0, sigma, logp.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split = CliffSplit(random_state=0).make_split(ds.smiles.tolist(), y)
    te = split.test
    st = np.asarray(split.labels[split.target_names[0]].strata)[te]
    err = np.abs(logp[te] - y[te])  # the oracle predicts the noise-free value
    observed = err[st == "cliff"].mean() - err[st == "smooth"].mean()
    floor = noise_floor(split, SimpleNamespace(target=lambda t=None: y), sigma, n_sim=200)
    assert floor["gap"].low <= observed <= floor["gap"].high
    # no noise, no floor: a perfect model has no gap
    zero = noise_floor(split, SimpleNamespace(target=lambda t=None: y), 0.0, n_sim=5)
    assert zero["gap"].value == 0.0


def test_noise_sd_from_replicates_given_and_literature():
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset("esol")
    est = estimate_noise_sd(ds)
    groups = [np.asarray(g.values)[:, 0] for g in ds.report.merged]
    ss = sum(((v - v.mean()) ** 2).sum() for v in groups)
    dof = sum(v.size - 1 for v in groups)
    assert est.sd == pytest.approx(np.sqrt(ss / dof)) and est.dof == dof
    assert est.low == pytest.approx(np.sqrt(ss / stats.chi2.ppf(0.975, dof)))
    assert est.low < est.sd < est.high and "replicate" in est.source
    assert estimate_noise_sd(ds, noise_sd=0.3).sd == 0.3
    fake = SimpleNamespace(name="freesolv", report=SimpleNamespace(merged=[]),
                           target_index=lambda t: 0)
    lit = estimate_noise_sd(fake)
    assert lit.sd == 0.6 and "Mobley" in lit.source
    fake.name = "my_assay"
    assert np.isnan(estimate_noise_sd(fake).sd)
    with pytest.raises(InvalidParameterError):
        estimate_noise_sd(ds, noise_sd=-1.0)
