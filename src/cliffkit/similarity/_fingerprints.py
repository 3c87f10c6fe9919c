"""Morgan (ECFP) fingerprints as a packed bit matrix, streamed from SMILES.

Molecules are parsed and fingerprinted in chunks (over several processes for
large inputs), so at most one chunk of RDKit ``Mol`` objects exists at a time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..utils import Interval, validate_params
from ._defaults import N_BITS, RADIUS

__all__ = ["compute_fingerprints", "unpack_fingerprints", "resolve_n_jobs"]

_PARALLEL_MIN = 4096  # below this, one process is faster than starting workers
_CHUNK = 2048

_CONSTRAINTS = {
    "radius": [Interval(int, 0, 16)],
    "n_bits": [Interval(int, 8, 1 << 20)],
    "n_jobs": [None, Interval(int, None, None)],
}


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Number of workers: None or -1 means every available core; -2 all but one."""
    try:
        n_cpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS / Windows
        n_cpu = os.cpu_count() or 1
    if n_jobs is None:
        return n_cpu
    if n_jobs < 0:
        return max(1, n_cpu + 1 + n_jobs)
    return max(1, n_jobs)


def _fingerprint_chunk(args: tuple[int, list, int, int]) -> tuple[int, np.ndarray, list[int]]:
    """Fingerprint one chunk; return (start, packed bits, local indices of bad SMILES)."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    from ..data import is_molecule, mol_from_smiles

    start, items, radius, n_bits = args
    RDLogger.DisableLog("rdApp.*")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    out = np.zeros((len(items), n_bits // 8), dtype=np.uint8)
    bad: list[int] = []
    for i, item in enumerate(items):
        # whitespace inside a SMILES is refused (RDKit would read only its first part), and
        # so is an empty or blank one (RDKit's zero-atom molecule: no bits, no molecule)
        mol = item if isinstance(item, Chem.Mol) else mol_from_smiles(item)
        if not is_molecule(mol):
            bad.append(i)
            continue
        out[i] = np.packbits(gen.GetFingerprintAsNumPy(mol))
    return start, out, bad


def compute_fingerprints(
    smiles: Sequence[str],
    *,
    radius: int = RADIUS,
    n_bits: int = N_BITS,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Morgan fingerprints of SMILES strings as a packed bit matrix.

    Parameters
    ----------
    smiles : sequence of str, length n_samples
        SMILES strings (RDKit ``Mol`` objects are accepted too).
    radius : int, default=2
        Morgan radius (2 gives ECFP4).
    n_bits : int, default=2048
        Fingerprint length; a multiple of 8.
    n_jobs : int or None, default=None
        Worker processes for inputs of 4,096 molecules or more; None or -1 uses
        every available core. Smaller inputs run in this process.

    Returns
    -------
    numpy.ndarray of uint8, shape (n_samples, n_bits // 8)
        Packed bits in RDKit ``ToBitString`` order: bit ``b`` is the most
        significant bit first within byte ``b // 8``, i.e.
        ``np.unpackbits(fps, axis=1)[i, b]`` is bit ``b`` of RDKit's
        ``rdFingerprintGenerator.GetMorganGenerator(radius, fpSize=n_bits)``
        fingerprint of molecule ``i``.

    Raises
    ------
    InvalidSmilesError
        If RDKit cannot parse some SMILES, or some is empty or blank (RDKit's zero-atom
        molecule, refused as the loaders refuse it: :func:`cliffkit.data.is_molecule`);
        the message names the first positions.
    InvalidParameterError
        If a parameter is out of range or ``n_bits`` is not a multiple of 8.
    """
    from ..errors import InvalidParameterError

    validate_params(
        _CONSTRAINTS, {"radius": radius, "n_bits": n_bits, "n_jobs": n_jobs},
        "compute_fingerprints",
    )
    if n_bits % 8:
        raise InvalidParameterError(
            f"The 'n_bits' parameter of compute_fingerprints must be a multiple of 8; got {n_bits}."
        )
    if isinstance(smiles, str):
        raise InvalidParameterError(
            "The 'smiles' parameter of compute_fingerprints must be a sequence of SMILES "
            "strings, not one string; wrap it in a list."
        )
    items = list(smiles)
    n = len(items)
    out = np.zeros((n, n_bits // 8), dtype=np.uint8)
    tasks = [(s, items[s : s + _CHUNK], radius, n_bits) for s in range(0, n, _CHUNK)]
    workers = min(resolve_n_jobs(n_jobs), len(tasks))
    has_mols = any(not isinstance(x, str) for x in items[:1])
    bad: list[int] = []
    if n >= _PARALLEL_MIN and workers > 1 and not has_mols:
        import multiprocessing as mp

        # fork: workers only run RDKit and NumPy, and need no ``__main__`` guard
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("fork" if "fork" in methods else "spawn")
        with ctx.Pool(workers) as pool:
            for start, block, b in pool.imap_unordered(_fingerprint_chunk, tasks):
                out[start : start + len(block)] = block
                bad.extend(start + i for i in b)
    else:
        for task in tasks:
            start, block, b = _fingerprint_chunk(task)
            out[start : start + len(block)] = block
            bad.extend(start + i for i in b)
    from ..data import check_parsed

    failed = set(bad)
    check_parsed([None if i in failed else True for i in range(len(items))], items,
                 fix="an empty or blank SMILES is no molecule; fix or drop them "
                     "(cliffkit.data.load_dataset reports and drops them for you)")
    return out


def unpack_fingerprints(fps: np.ndarray) -> np.ndarray:
    """Unpack ``(n, n_bits // 8)`` packed fingerprints to a ``(n, n_bits)`` 0/1 uint8 array."""
    return np.unpackbits(np.asarray(fps, dtype=np.uint8), axis=1)
