"""3D geometries for SchNet: QM9 DFT geometries, or RDKit ETKDG + MMFF conformers.

QM9 molecules use their B3LYP geometries from ``qm9_geometries.npz`` in the data
folder (explicit ``data_dir`` > ``CLIFFKIT_DATA_DIR``) or, failing that, from the
``qm9`` extra (qm9pack). Other molecules get one RDKit conformer with explicit
hydrogens: ETKDGv3 with a fixed seed, then MMFF94 optimisation. Conformers are
generated in parallel and cached on disk, one file per (SMILES, parameters).

Failure policy (never silent): a molecule RDKit cannot embed, even from random
coordinates, gets its 2D depiction coordinates (z = 0) as a fallback. Every
molecule's ``status`` says what it got (``"qm9"``; ``"mmff"`` or ``"uff"`` when the
force field converged, ``"mmff-unconverged"`` or ``"uff-unconverged"`` when it stopped
at ``max_iters`` (the last step's geometry); ``"etkdg"`` when no force field had
parameters or its setup failed; ``"2d-fallback"``), the counts are in
:attr:`Geometries.counts`, and a :class:`~cliffkit.errors.DataWarning` names the
fallback molecules. A damaged cache file is recomputed with a
:class:`~cliffkit.errors.CliffkitWarning` naming it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import (
    CliffkitWarning,
    InvalidDataError,
    InvalidParameterError,
    MissingDependencyError,
    install_hint,
)
from ..utils import atomic_write_bytes, one_line, user_stacklevel

__all__ = [
    "Geometries",
    "embed_conformers",
    "get_geometries",
    "load_qm9_geometries",
]

#: 2: statuses say whether the force field converged ("mmff-unconverged", ...)
_CACHE_VERSION = 2
QM9_GEOMETRIES_FILE = "qm9_geometries.npz"


@dataclass
class Geometries:
    """Atomic numbers and coordinates (Angstrom) of each molecule, hydrogens included.

    Attributes
    ----------
    z : list of numpy.ndarray of uint8, shape (n_atoms_i,)
    pos : list of numpy.ndarray of float32, shape (n_atoms_i, 3)
    status : numpy.ndarray of str, shape (n_molecules,)
        Where each geometry came from (see the module docstring).
    params : dict
        How the geometries were made (source, seed, force field ...).
    """

    z: list[np.ndarray]
    pos: list[np.ndarray]
    status: np.ndarray
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.z)

    @property
    def counts(self) -> dict[str, int]:
        """Number of molecules per status."""
        return dict(Counter(self.status.tolist()))

    @property
    def n_failed(self) -> int:
        """Molecules that got the 2D fallback."""
        return int(np.sum(self.status == "2d-fallback"))

    def subset(self, indices) -> Geometries:
        idx = np.asarray(indices, dtype=np.int64)
        return Geometries(
            [self.z[i] for i in idx], [self.pos[i] for i in idx], self.status[idx], dict(self.params)
        )


# ---------------------------------------------------------------------------- QM9


def _qm9_npz_path(data_dir: str | os.PathLike | None) -> Path | None:
    for folder in (data_dir, os.environ.get("CLIFFKIT_DATA_DIR")):
        if folder:
            path = Path(folder) / QM9_GEOMETRIES_FILE
            if path.is_file():
                return path
    return None


def _default_cache_dir() -> Path:
    from ..utils import cache_dir

    return cache_dir()


def _parse_qm9pack_parts(parts: Sequence[Path]) -> dict[str, np.ndarray]:
    """Build the ``qm9_geometries.npz`` arrays from qm9pack's part CSVs."""
    import ast

    import pandas as pd

    symbols = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
    index, counts, zs, poss = [], [], [], []
    for part in parts:
        frame = pd.read_csv(part, usecols=["Index", "Elements", "XYZ_Ang"])
        for idx, elements, xyz in frame.itertuples(index=False):
            el = ast.literal_eval(elements)
            coords = np.asarray(ast.literal_eval(xyz), dtype=np.float64)
            index.append(int(idx))
            counts.append(len(el))
            zs.append(np.array([symbols[e] for e in el], dtype=np.uint8))
            poss.append(coords.astype(np.float32).reshape(-1, 3))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return {
        "index": np.asarray(index, dtype=np.int32),
        "offsets": offsets,
        "z": np.concatenate(zs),
        "pos": np.concatenate(poss),
    }


def _qm9pack_arrays(cache_dir: Path | None) -> dict[str, np.ndarray]:
    from ..errors import require

    require("qm9pack", "qm9", "QM9 geometries without a data folder")
    from importlib.resources import files

    folder = Path(str(files("qm9pack") / "data"))
    parts = sorted(folder.glob("qm9_part[0-9].csv"))
    if not parts:
        raise InvalidDataError(f"qm9pack is installed but {folder} holds no qm9_part*.csv files.")
    cache = (cache_dir or _default_cache_dir()) / "qm9pack_geometries.npz"
    if cache.is_file():
        try:
            with open(cache, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except Exception as exc:  # truncated (BadZipFile) or damaged: parse again, overwrite
            warnings.warn(
                f"geometry cache file {str(cache)!r} is unreadable ({type(exc).__name__}: "
                f"{one_line(exc, 120)}); parsing qm9pack again and overwriting it.",
                CliffkitWarning, stacklevel=user_stacklevel(),
            )
    arrays = _parse_qm9pack_parts(parts)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(cache, buf.getvalue())
    return arrays


def load_qm9_geometries(
    qm9_index,
    *,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Geometries:
    """DFT (B3LYP) geometries of QM9 molecules by their QM9 index.

    Parameters
    ----------
    qm9_index : array-like of int, shape (n_molecules,)
        QM9 ids (1..133885), e.g. ``dataset.meta["qm9_index"]``.
    data_dir : path-like, optional
        Folder with ``qm9_geometries.npz``; default ``CLIFFKIT_DATA_DIR``, then the
        ``qm9`` extra (qm9pack).
    cache_dir : path-like, optional
        Where the geometries parsed from qm9pack are cached.

    Returns
    -------
    Geometries
        Status ``"qm9"`` for every molecule.

    Raises
    ------
    InvalidDataError
        If an index is not in the geometry file.
    MissingDependencyError
        If there is no geometry file and qm9pack is not installed.
    """
    wanted = np.asarray(qm9_index, dtype=np.int64).reshape(-1)
    path = _qm9_npz_path(data_dir)
    if path is not None:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in ("index", "offsets", "z", "pos")}
        source = str(path)
    else:
        try:
            arrays = _qm9pack_arrays(Path(cache_dir) if cache_dir else None)
        except MissingDependencyError as exc:
            raise MissingDependencyError(
                f"QM9 geometries need {QM9_GEOMETRIES_FILE} in the data folder (set "
                f"CLIFFKIT_DATA_DIR or pass data_dir) or the qm9 extra: {install_hint('qm9')}"
            ) from exc
        source = "qm9pack"
    index = arrays["index"].astype(np.int64)
    order = np.argsort(index, kind="stable")
    pos_in_sorted = np.searchsorted(index[order], wanted).clip(max=len(index) - 1)
    rows = order[pos_in_sorted]
    missing = index[rows] != wanted
    if missing.any():
        bad = wanted[missing][:5].tolist()
        raise InvalidDataError(
            f"{int(missing.sum())} QM9 indices are not in the geometry file {source} "
            f"(first: {bad}); QM9 ids must come from the qm9 dataset's 'index' column."
        )
    offsets, z_all, pos_all = arrays["offsets"], arrays["z"], arrays["pos"]
    z = [z_all[offsets[r]:offsets[r + 1]] for r in rows]
    pos = [pos_all[offsets[r]:offsets[r + 1]] for r in rows]
    status = np.full(len(rows), "qm9", dtype=object)
    return Geometries(z, pos, status, {"source": "qm9", "file": source})


# ---------------------------------------------------------------------------- RDKit


#: status of a force-field return code (0 converged, 1 not converged); any other code
#: (-1: setup failed) leaves the ETKDG geometry, status "etkdg"
_FF_STATUS = {"mmff": {0: "mmff", 1: "mmff-unconverged"},
              "uff": {0: "uff", 1: "uff-unconverged"}}


def _embed_one(smiles: str, seed: int, max_iters: int) -> tuple[np.ndarray, np.ndarray, str]:
    """One conformer with explicit H: ETKDGv3 (seeded) then MMFF94 (UFF if MMFF lacks params)."""
    from rdkit import Chem
    from rdkit.Chem import AllChem

    from ..data import mol_from_smiles

    mol = mol_from_smiles(smiles)  # None for an empty or blank SMILES too (zero atoms)
    if mol is None:
        raise InvalidDataError(f"RDKit cannot parse SMILES {smiles!r} (or it is empty).")
    mol = Chem.AddHs(mol)
    z = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.uint8)
    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    cid = AllChem.EmbedMolecule(mol, params)
    if cid < 0:
        params.useRandomCoords = True
        params.maxIterations = 10 * max(1, max_iters)
        cid = AllChem.EmbedMolecule(mol, params)
    if cid < 0:
        AllChem.Compute2DCoords(mol)
        pos = mol.GetConformer().GetPositions().astype(np.float32)
        return z, pos, "2d-fallback"
    status = "etkdg"
    try:
        # RDKit's return code: 0 converged, 1 not converged in max_iters (the geometry is
        # the last step's: labelled "-unconverged"), -1 setup failed (geometry untouched)
        if AllChem.MMFFHasAllMoleculeParams(mol):
            status = _FF_STATUS["mmff"].get(AllChem.MMFFOptimizeMolecule(mol, maxIters=max_iters),
                                            "etkdg")
        elif AllChem.UFFHasAllMoleculeParams(mol):
            status = _FF_STATUS["uff"].get(AllChem.UFFOptimizeMolecule(mol, maxIters=max_iters),
                                           "etkdg")
    except (RuntimeError, ValueError):  # force field setup failed: keep ETKDG geometry
        status = "etkdg"
    pos = mol.GetConformer().GetPositions().astype(np.float32)
    return z, pos, status


def _cache_key(smiles: str, params: dict) -> str:
    blob = json.dumps({"smiles": smiles, **params}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / key[:2] / f"{key}.npz"


def _read_cached(path: Path, damaged: list | None = None):
    """``(z, pos, status)`` from a conformer cache file, or None to recompute it.

    A file that cannot be read (truncated: ``BadZipFile``; garbled; missing arrays) is
    appended to ``damaged`` as ``(path, exception)``; the caller recomputes and
    overwrites it and warns once (as the neighbour and qm9pack caches do). The file is
    opened by us, so no handle leaks when the zip is damaged.
    """
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            return npz["z"], npz["pos"], str(npz["status"])
    except Exception as exc:  # truncated (BadZipFile), garbled, old layout: recompute
        if damaged is not None:
            damaged.append((path, exc))
        return None


def _write_cached(path: Path, z: np.ndarray, pos: np.ndarray, status: str) -> None:
    buf = io.BytesIO()
    np.savez(buf, z=z, pos=pos, status=np.array(status))
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError:  # read-only cache: the conformer is still returned
        pass


def _worker(args) -> tuple[int, np.ndarray, np.ndarray, str]:
    i, smiles, seed, max_iters, path = args
    try:
        z, pos, status = _embed_one(smiles, seed, max_iters)
    except InvalidDataError:
        raise
    except (RuntimeError, ValueError):  # RDKit internal failure: the documented fallback
        from rdkit import Chem
        from rdkit.Chem import AllChem

        mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
        AllChem.Compute2DCoords(mol)
        z = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.uint8)
        pos, status = mol.GetConformer().GetPositions().astype(np.float32), "2d-fallback"
    if path is not None:
        _write_cached(Path(path), z, pos, status)
    return i, z, pos, status


def embed_conformers(
    smiles: Sequence[str],
    *,
    random_state: int = 0,
    max_iters: int = 2000,
    n_jobs: int | None = 2,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    show_progress: bool | None = None,
) -> Geometries:
    """One RDKit conformer per molecule (ETKDGv3 + MMFF94, explicit H), cached on disk.

    Parameters
    ----------
    smiles : sequence of str, length n_molecules
    random_state : int
        ETKDG seed; the same seed is used for every molecule, so a molecule's conformer
        does not depend on the other molecules.
    max_iters : int
        Force-field optimisation iterations.
    n_jobs : int or None
        Worker processes for the molecules not in the cache (None or 1: in-process).
    cache_dir : path-like, optional
        Cache folder; default ``$CLIFFKIT_CACHE_DIR`` or the user cache folder
        (platformdirs), under ``conformers/``.
    use_cache : bool
        Read and write the cache.
    show_progress : bool or None
        Progress bar; None shows it when stderr is a terminal.

    Returns
    -------
    Geometries
        Status per molecule; the 2D fallbacks are also announced with a ``DataWarning``.
    """
    from rdkit import rdBase
    from tqdm.auto import tqdm

    if isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise InvalidParameterError(
            f"The 'random_state' parameter of embed_conformers must be an int (the ETKDG "
            f"seed); got {random_state!r}."
        )
    smiles = [str(s) for s in smiles]
    params = {
        "method": "etkdgv3+mmff94",
        "seed": int(random_state),
        "max_iters": int(max_iters),
        "rdkit": rdBase.rdkitVersion,
        "version": _CACHE_VERSION,
    }
    root = (Path(cache_dir) if cache_dir else _default_cache_dir()) / "conformers"
    n = len(smiles)
    z: list = [None] * n
    pos: list = [None] * n
    status = np.empty(n, dtype=object)
    todo = []
    damaged: list = []
    for i, smi in enumerate(smiles):
        path = _cache_path(root, _cache_key(smi, params)) if use_cache else None
        hit = _read_cached(path, damaged) if path is not None and path.is_file() else None
        if hit is not None:
            z[i], pos[i], status[i] = hit
        else:
            todo.append((i, smi, params["seed"], params["max_iters"], path and str(path)))
    if damaged:
        first, exc = damaged[0]
        warnings.warn(
            f"{len(damaged)} conformer cache file(s) are unreadable (first: {str(first)!r}, "
            f"{type(exc).__name__}: {one_line(exc, 120)}); recomputing those conformers "
            "and overwriting the files.", CliffkitWarning, stacklevel=user_stacklevel(),
        )
    if show_progress is None:
        import sys

        show_progress = sys.stderr.isatty()
    if todo:
        bar = tqdm(total=len(todo), desc="conformers", unit="mol", disable=not show_progress)
        if n_jobs is None or n_jobs <= 1 or len(todo) < 8:
            results = map(_worker, todo)
            pool = None
        else:
            import multiprocessing as mp

            ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
            pool = ctx.Pool(min(n_jobs, len(todo)))
            results = pool.imap_unordered(_worker, todo, chunksize=8)
        try:
            for i, zi, pi, si in results:
                z[i], pos[i], status[i] = zi, pi, si
                bar.update()
        finally:
            bar.close()
            if pool is not None:
                pool.close()
                pool.join()
    out = Geometries(z, pos, status, {"source": "rdkit", **params, "cache_dir": str(root)})
    if out.n_failed:
        from ..errors import DataWarning

        bad = [smiles[i] for i in np.flatnonzero(status == "2d-fallback")[:3]]
        warnings.warn(
            f"RDKit could not embed {out.n_failed} of {n} molecules in 3D (first: {bad}); "
            "they use 2D coordinates (status '2d-fallback').",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    return out


def get_geometries(
    dataset,
    *,
    data_dir: str | os.PathLike | None = None,
    random_state: int = 0,
    n_jobs: int | None = 2,
    cache_dir: str | os.PathLike | None = None,
    show_progress: bool | None = None,
) -> Geometries:
    """Geometries for every molecule of a :class:`~cliffkit.data.Dataset`.

    QM9 rows (``dataset.meta["qm9_index"]``, or ids of the form ``gdb_<index>``) get
    their DFT geometries; any other dataset gets RDKit conformers
    (:func:`embed_conformers`).
    """
    qm9_index = _qm9_index_of(dataset)
    if qm9_index is not None:
        return load_qm9_geometries(qm9_index, data_dir=data_dir, cache_dir=cache_dir)
    return embed_conformers(
        dataset.smiles,
        random_state=random_state,
        n_jobs=n_jobs,
        cache_dir=cache_dir,
        show_progress=show_progress,
    )


def _qm9_index_of(dataset) -> np.ndarray | None:
    """QM9 ids of the rows, or None for a non-QM9 dataset."""
    n = len(dataset)
    index = dataset.meta.get("qm9_index") if getattr(dataset, "meta", None) else None
    if index is not None and len(index) == n:
        return np.asarray(index, dtype=np.int64)
    ids = getattr(dataset, "ids", None)
    is_qm9 = index is not None or str(dataset.meta.get("subset_of", dataset.name)) == "qm9" \
        or dataset.name == "qm9"
    if is_qm9 and ids is not None and len(ids) == n:
        try:
            return np.array([int(str(s).removeprefix("gdb_")) for s in ids], dtype=np.int64)
        except ValueError:
            pass
    if is_qm9:
        raise InvalidDataError(
            f"Dataset {dataset.name!r} looks like QM9 but its rows carry no QM9 index "
            "(meta['qm9_index'] of one entry per row, or ids 'gdb_<index>')."
        )
    return None
