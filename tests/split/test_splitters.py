"""Every registered splitter passes the shared checkers (tests/split/checks.py) on real data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cliffkit.errors import CliffkitWarning, UnknownNameError
from cliffkit.split import CliffSplit, RandomSplit, ScaffoldSplit, get_splitter, list_splitters

from .checks import check_splitter

SPLITTERS = {"cliff": CliffSplit, "random": RandomSplit, "scaffold": ScaffoldSplit}


def test_registry():
    assert list_splitters() == ["cliff", "predefined", "random", "scaffold"]
    assert isinstance(get_splitter("cliff", test_size=0.2), CliffSplit)
    with pytest.raises(UnknownNameError, match="Unknown splitter 'scafold'.*Did you mean 'scaffold'"):
        get_splitter("scafold")


@pytest.mark.parametrize("key", sorted(SPLITTERS))
def test_checkers_lipophilicity(key, lipo300):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        check_splitter(SPLITTERS[key], lipo300, test_size=0.15, val_size=0.1)


def test_checkers_smiles_and_y(esol200):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        check_splitter(CliffSplit, list(esol200.smiles), esol200.y[:, 0], test_size=0.1, val_size=0.1)


def test_cliffsplit_every_heldout_case_supported_and_share(lipo300):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        res = CliffSplit(test_size=0.15, val_size=0.1).make_split(lipo300)
    lab = res.labels["logD"]
    held = np.concatenate([res.val, res.test])
    assert (lab.strata[held] != "unsupported").all()
    assert (lab.strata[res.train] == "train").all()
    # the share is reported, and here cliffs are enriched over a random split
    share = res.cliff_share["test"]["logD"]
    assert share == pytest.approx(lab.cliff_share(res.test))
    rnd = RandomSplit(test_size=0.15, val_size=0.1).make_split(lipo300)
    assert rnd.labels["logD"].cliff_share(rnd.test) < share


def test_matched_controls_are_balanced(lipo300):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        res = CliffSplit(test_size=0.2, val_size=0.1).make_split(lipo300)
    lab = res.labels["logD"]
    for mc, ms in ((lab.matched_cliff, lab.matched_smooth), (lab.matched_cliff_z, lab.matched_smooth_z)):
        assert mc.sum() == ms.sum() > 0
        assert (lab.strata[mc] == "cliff").all() and (lab.strata[ms] == "smooth").all()
    # matched pairs are closer in similarity-to-train than the raw groups (or as close)
    sim = lab.max_similarity
    raw = abs(np.median(sim[lab.strata == "cliff"]) - np.median(sim[lab.strata == "smooth"]))
    matched = abs(np.median(sim[lab.matched_cliff]) - np.median(sim[lab.matched_smooth]))
    assert matched <= raw + 0.02


def test_scaffold_groups_never_straddle(lipo300):
    from cliffkit.split import murcko_scaffolds

    res = ScaffoldSplit(test_size=0.15, val_size=0.1).make_split(lipo300)
    scaf = murcko_scaffolds(lipo300.smiles)
    where = {}
    for name in ("train", "val", "test"):
        for i in res.subset(name):
            if scaf[i]:
                where.setdefault(scaf[i], set()).add(name)
    assert all(len(v) == 1 for v in where.values())


def test_scaffold_seed_matters(lipo300):
    a = ScaffoldSplit(test_size=0.15, random_state=0).make_split(lipo300)
    b = ScaffoldSplit(test_size=0.15, random_state=1).make_split(lipo300)
    assert not np.array_equal(a.test, b.test)


def test_scaffold_groups_argument():
    smiles = ["CCO", "CCCO", "CCCCO", "CCN", "CCCN", "CCCCN", "CCCl", "CCCCCl"]
    groups = [0, 0, 0, 1, 1, 1, 2, 2]
    res = ScaffoldSplit(test_size=0.25, val_size=0.0).make_split(smiles, groups=groups)
    assert res.test.tolist() in ([6, 7],)


def test_repr_and_params():
    s = CliffSplit(test_size=0.2, cliff_share=0.4)
    assert repr(s) == "CliffSplit(test_size=0.2, cliff_share=0.4)"
    assert repr(RandomSplit()) == "RandomSplit()"
    assert s.get_params()["min_similarity"] == 0.35
    assert s.set_params(k=8).k == 8


def test_scaffold_split_that_cannot_fill_its_test_set(data_dir):
    """Fresh-user trial: 60 benzene derivatives (one scaffold) gave a scaffold split with an
    EMPTY test set, exit 0, and the warning 'found only 0 of the 6 requested test molecules
    with training support at min_similarity=0.35; lower min_similarity' (not the cause)."""
    import warnings

    import pandas as pd

    from cliffkit.errors import InvalidParameterError, SplitWarning
    from cliffkit.split import ScaffoldSplit

    smiles = pd.read_csv(data_dir / "lipophilicity.csv")["smiles"].iloc[:60].tolist()
    one = np.zeros(60, dtype=int)
    with pytest.raises(InvalidParameterError, match=r"placed 0 of the 6 requested test .*"
                       r"the test set would be empty"):
        ScaffoldSplit(random_state=0).make_split(smiles, groups=one)
    # groups of 5 against a quota of 6: a smaller test set, said with its real cause
    fives = np.arange(60) // 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = ScaffoldSplit(random_state=0).make_split(smiles, groups=fives)
    texts = [str(w.message) for w in caught if issubclass(w.category, SplitWarning)]
    assert res.test.size == 5
    assert any("placed 5 of the 6 requested test molecules: whole groups" in t for t in texts)
    assert not any("training support" in t for t in texts)
