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


@pytest.fixture(scope="module")
def esol_fps(esol_logp):
    from cliffkit.similarity import compute_fingerprints

    return compute_fingerprints(esol_logp[0].smiles.tolist())


def _oracle_vs_floor(ds, logp, fps, sigma, noise_seed):
    """Observed oracle gap and the (default) floor on a CliffSplit made on one draw of noisy labels."""
    from cliffkit.evaluate._noise import oracle_gap_and_floor

    observed, floors = oracle_gap_and_floor(ds.smiles.tolist(), logp, sigma, noise_seed, fps=fps)
    return observed, floors["conditional"]


@pytest.mark.slow
@pytest.mark.parametrize("sigma", [0.25, 0.5, 1.0])
def test_floor_is_unbiased_over_20_noise_seeds(esol_logp, esol_fps, sigma):
    """20 draws of the label noise (each with its own CliffSplit): the mean of observed
    oracle gap − floor is 0 within its sampling error, and the floor's range holds the
    observed gap in most draws."""
    ds, logp = esol_logp
    obs, fl, inside = [], [], 0
    for ns in range(20):
        o, f = _oracle_vs_floor(ds, logp, esol_fps, sigma, ns)
        obs.append(o)
        fl.append(f["gap"].value)
        inside += f["gap"].low <= o <= f["gap"].high
    d = np.array(obs) - np.array(fl)
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert abs(d.mean()) <= 2.5 * se + 0.01, (d.mean(), se)
    assert inside >= 16


def test_floor_range_carries_the_noise_sd_interval():
    """With the degrees of freedom of a replicate estimate, each draw uses its own σ: the
    gap's range widens and the σ range is reported."""
    rng = np.random.default_rng(0)
    n_tr, n_te = 300, 120
    y = rng.normal(0, 1, n_tr + n_te)
    train, test = np.arange(n_tr), np.arange(n_tr, n_tr + n_te)
    strata = np.array(["train"] * n_tr + ["cliff", "smooth"] * (n_te // 2), dtype=object)
    # each test molecule: 3 training neighbours
    nb = rng.integers(0, n_tr, size=(n_te, 3))
    g_ht = SimpleNamespace(indptr=np.arange(0, 3 * n_te + 1, 3), indices=nb.reshape(-1),
                           similarities=np.full(3 * n_te, 0.6))
    nbt = rng.integers(0, n_tr, size=(n_tr, 3))
    g_tt = SimpleNamespace(indptr=np.arange(0, 3 * n_tr + 1, 3), indices=nbt.reshape(-1),
                           similarities=np.full(3 * n_tr, 0.6))
    split = SimpleNamespace(
        target_names=["y"], train=train, test=test, val=np.zeros(0, dtype=np.int64),
        smiles=np.array(["C"] * (n_tr + n_te)),
        similarity_params={"k": 3, "min_similarity": 0.35, "radius": 2, "n_bits": 2048},
        labels={"y": SimpleNamespace(strata=strata)})
    data = SimpleNamespace(target=lambda t=None: y)
    fixed = noise_floor(split, data, 0.5, n_sim=400, graphs=(g_tt, g_ht))
    loose = noise_floor(split, data, 0.5, n_sim=400, graphs=(g_tt, g_ht), noise_sd_dof=5)
    assert fixed["noise_sd_range"] is None and loose["noise_sd_dof"] == 5
    lo, hi = loose["noise_sd_range"]
    assert lo < 0.5 < hi
    w = lambda e: e.high - e.low  # noqa: E731
    # the gap scales with σ, so its range widens (the ratio is nearly scale-free)
    assert w(loose["gap"]) > 1.05 * w(fixed["gap"])


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lit = estimate_noise_sd(load_dataset("freesolv"))
    assert lit.sd == 0.6 and "Mobley" in lit.source
    fake = SimpleNamespace(name="my_assay", report=SimpleNamespace(merged=[]),
                           target_index=lambda t: 0, meta={})
    assert np.isnan(estimate_noise_sd(fake).sd)
    with pytest.raises(InvalidParameterError):
        estimate_noise_sd(ds, noise_sd=-1.0)


def _lipo_rows(n):
    import pandas as pd

    from cliffkit.data._loaders import FILES_DIR

    return pd.read_csv(FILES_DIR / "lipophilicity.csv").head(n)[["smiles", "exp"]]


def test_literature_noise_follows_the_registered_dataset_not_a_file_name(tmp_path):
    """A user's logD file named freesolv_... got FreeSolv's 0.6 kcal/mol by its name; the
    literature value now needs the registry's identity and the value's unit."""
    path = tmp_path / "freesolv_logd_assay.csv"
    _lipo_rows(30).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        user = load_dataset(path, target_cols="exp")
        named = load_dataset(tmp_path / "freesolv_logd_assay.csv", target_cols="exp")
        free = load_dataset("freesolv")
    est = estimate_noise_sd(user)
    assert np.isnan(est.sd) and "never by a file's name" in est.source
    named.name = "freesolv"  # even the exact registered name does not make it FreeSolv
    assert np.isnan(estimate_noise_sd(named).sd)
    assert estimate_noise_sd(free).sd == 0.6
    free.units = ["logD"]  # FreeSolv's value is in kcal/mol: another unit gets none
    assert np.isnan(estimate_noise_sd(free).sd)


def test_standardisation_merges_are_not_replicates(tmp_path):
    """With --standardize fragment, a salt merged with its parent is another molecule, not a
    replicate measurement: 30 salt pairs 1.5 apart made noise_sd ~1.06; only the 5 rows
    repeated as written (0.2 apart) count now, and the source says what was left out."""
    d = _lipo_rows(40)
    salts = d.head(30).assign(smiles=lambda f: f.smiles + ".Cl", exp=lambda f: f.exp + 1.5)
    reps = d.iloc[30:35].assign(exp=lambda f: f.exp + 0.2)
    import pandas as pd

    path = tmp_path / "salts.csv"
    pd.concat([d, salts, reps]).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frag = load_dataset(path, target_cols="exp", standardize="fragment")
        keep = load_dataset(path, target_cols="exp")
    assert len(frag.report.merged) == 35
    est = estimate_noise_sd(frag)
    assert est.n_groups == 5 and est.dof == 5
    assert est.sd == pytest.approx(np.sqrt(5 * 0.02 / 5))  # each pair: (0.1² + 0.1²)
    assert "30 rows merged only by standardize='fragment'" in est.source
    # kept as written the salts are their own molecules: the same 5 replicate groups
    k = estimate_noise_sd(keep)
    assert (k.n_groups, k.dof) == (5, 5) and k.sd == pytest.approx(est.sd)
    assert "not counted" not in k.source


def test_relabel_floor_reruns_the_splits_own_labelling(esol_logp, esol_fps):
    """The "relabel" floor re-runs the split's labelling on simulated labels: on the
    observed labels that labelling gives back the split's own test strata, exactly; with
    σ = 0 the floor is 0."""
    from cliffkit.evaluate._noise import _relabeller
    from cliffkit.split import CliffSplit
    from cliffkit.split._label import train_graphs

    ds, _ = esol_logp
    y = np.asarray(ds.target(), dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split = CliffSplit(random_state=0).make_split(ds.smiles.tolist(), y)
    sim = split.similarity_params
    ho = np.concatenate([split.test, split.val])
    graphs = train_graphs(esol_fps, split.train, ho, k=int(sim["k"]),
                          min_similarity=sim["min_similarity"])[:2]
    lab = _relabeller(split, *graphs, split.test.size)(y[split.train], y[ho])
    st = np.asarray(split.labels[split.target_names[0]].strata)[split.test]
    assert lab.tolist() == st.tolist() and {"cliff", "smooth"} <= set(st)
    data = SimpleNamespace(target=lambda t=None: y)
    zero = noise_floor(split, data, 0.0, n_sim=3, graphs=graphs, method="relabel")
    assert zero["gap"].value == 0.0 and zero["floor_method"] == "relabel"
    with pytest.raises(InvalidParameterError, match="method"):
        noise_floor(split, data, 0.5, graphs=graphs, method="magic")
