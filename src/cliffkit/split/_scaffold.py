"""ScaffoldSplit: Bemis–Murcko scaffold groups, shuffled by seed, labelled with cliff strata."""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from ._base import register_splitter
from ._random import RandomSplit

__all__ = ["ScaffoldSplit", "murcko_scaffolds"]


def murcko_scaffolds(smiles, *, include_chirality: bool = False) -> np.ndarray:
    """Bemis–Murcko scaffold SMILES (RDKit ``MurckoScaffold``); ``""`` for acyclic molecules."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Scaffolds import MurckoScaffold

    RDLogger.DisableLog("rdApp.*")
    out = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        out.append("" if mol is None else MurckoScaffold.MurckoScaffoldSmiles(
            mol=mol, includeChirality=include_chirality))
    return np.asarray(out, dtype=object)


@register_splitter("scaffold")
class ScaffoldSplit(RandomSplit):
    """Scaffold split: whole Bemis–Murcko scaffold groups go to train, validation or test.

    Groups are visited in a seeded random order (not by size, so the seed matters, unlike
    DeepChem's deterministic scaffold split). A group goes to test if it fits the remaining
    test quota, else to validation if it fits there, else to train. Acyclic molecules (empty
    scaffold) are singleton groups. Held-out molecules are labelled on the same strata as
    :class:`CliffSplit`; many of them are expected to be ``unsupported``.

    Its parameters (and their constraints) are :class:`RandomSplit`'s.

    Examples
    --------
    >>> from cliffkit.split import ScaffoldSplit
    >>> smiles = ["c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "C1CCCCC1O", "C1CCCCC1N",
    ...           "c1ccncc1C", "c1ccncc1O", "CCO"]
    >>> train, test = next(ScaffoldSplit(test_size=0.25, val_size=0.0).split(smiles))
    >>> len(train) + len(test), len(test) <= 2
    (8, True)
    """

    #: a short test set comes from group sizes, not from training support (_warn)
    _short_for_support = False

    # Same parameters (and constraints) as RandomSplit; only the assignment differs,
    # as sklearn's GroupShuffleSplit reuses ShuffleSplit's __init__.

    def _assign(self, ctx: dict):
        n = ctx["n"]
        groups = ctx["groups"]
        if groups is None:
            scaf = murcko_scaffolds(ctx["smiles"])
            keys = np.where(scaf == "", np.char.add("acyclic:", np.arange(n).astype(str)).astype(object), scaf)
        else:
            keys = np.asarray(groups, dtype=object)
            if keys.shape != (n,):
                raise ShapeMismatchError(f"groups must have shape ({n},); got {keys.shape}.")
        _, inverse = np.unique(keys.astype(str), return_inverse=True)
        n_groups = int(inverse.max()) + 1 if n else 0
        sizes = np.bincount(inverse, minlength=n_groups)
        order = ctx["rng"].permutation(n_groups)
        where = np.zeros(n_groups, dtype=np.int8)  # 0 train, 1 val, 2 test
        left_test, left_val = ctx["n_test"], ctx["n_val"]
        for g in order:
            s = sizes[g]
            if s <= left_test:
                where[g], left_test = 2, left_test - s
            elif s <= left_val:
                where[g], left_val = 1, left_val - s
        lab = where[inverse]
        info = {"n_scaffolds": n_groups, "warnings": []}
        n_test_got = int(sizes[where == 2].sum())
        if ctx["n_test"] > 0 and n_test_got < ctx["n_test"]:
            what = "groups" if groups is not None else "scaffold groups"
            short = (f"ScaffoldSplit placed {n_test_got} of the {ctx['n_test']} requested test "
                     f"molecules: whole {what} go to one side, and the {n_groups} {what} of "
                     f"these {n} molecules (largest {int(sizes.max())}) left no combination "
                     "that fills the test quota")
            if n_test_got == 0:
                raise InvalidParameterError(
                    f"{short} (a group is never divided); the test set would be empty. Use "
                    "--method random or cliff for molecules that share so few scaffolds."
                )
            info["warnings"].append(f"{short}; the test set is smaller than requested.")
        return (np.flatnonzero(lab == 0), np.flatnonzero(lab == 1), np.flatnonzero(lab == 2), info)
