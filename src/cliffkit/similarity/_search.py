"""Exact Tanimoto top-k neighbour search on packed fingerprints.

Algorithm
---------
Queries and references are sorted by popcount. Each block of queries is compared
with chunks of references, nearest popcounts first. For a chunk, an integer
intersection-count matrix ``C`` is computed (a matrix product of 0/1 bits in
PyTorch, or ``np.bitwise_count`` in NumPy). Row ``i`` keeps a threshold ``t_i``:
the larger of ``min_similarity`` and the similarity of its current k-th
neighbour. Since ``c / (a + b - c)`` grows with ``c`` and falls with ``b``, a pair
can only reach ``t_i`` if ``c >= t_i (a_i + b_min) / (1 + t_i)``; only the pairs
passing this integer test are turned into exact float64 similarities and merged
into the running top-k. Chunks whose popcount range cannot reach ``t_i``
(``min(a, b) / max(a, b) < t_i``) are skipped. The result is exact: every pair
that could be in the top-k is scored in float64 exactly as RDKit does.

All-against-all visits only the upper triangle of (block, block) tiles: a tile
also yields candidates for the later block's rows (checked against
``min_similarity`` and kept until that block is processed). The torch counter
splits bits into frequent ones (dense bfloat16 or int8 product) and rare ones
(sparse product); see :class:`_TorchCounter`.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from ..utils import Interval, Options, validate_params
from ._defaults import MIN_SIMILARITY
from ._fingerprints import resolve_n_jobs
from ._graph import NeighborGraph

__all__ = ["find_neighbors", "tanimoto_matrix"]

_CONSTRAINTS = {
    "k": [Interval(int, 1, None)],
    "min_similarity": [Interval(float, 0, 1)],
    "exclude_self": [None, "boolean"],
    "backend": [Options("auto", "torch", "numpy")],
    "block_size": [None, Interval(int, 1, None)],
    "n_jobs": [None, Interval(int, None, None)],
    "show_progress": ["boolean", None],
}

_BR = 4096  # reference chunk size of the torch backend (query vs reference)
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def _popcount_rows(fps: np.ndarray) -> np.ndarray:
    return _POPCOUNT8[fps].sum(axis=1)


def _check_fps(fps, name: str) -> np.ndarray:
    arr = np.asarray(fps)
    if arr.ndim != 2 or arr.dtype != np.uint8:
        raise InvalidParameterError(
            f"The {name!r} parameter of find_neighbors must be a 2-D uint8 array of packed bits "
            f"(from compute_fingerprints); got dtype {arr.dtype} and shape {arr.shape}."
        )
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------- counters
class _NumpyCounter:
    """Intersection counts by AND + popcount on 64-bit words."""

    dtype = np.int32

    def __init__(self, q_bits: np.ndarray, r_bits: np.ndarray) -> None:
        self.q = self._pack(q_bits)
        self.r = self._pack(r_bits)

    @staticmethod
    def encode(values: np.ndarray) -> np.ndarray:
        return np.minimum(values, np.iinfo(np.int32).max).astype(np.int32)

    @staticmethod
    def decode(raw: np.ndarray) -> np.ndarray:
        return raw.astype(np.float64)

    @staticmethod
    def _pack(bits: np.ndarray) -> np.ndarray:
        packed = np.packbits(bits, axis=1)
        pad = (-packed.shape[1]) % 8
        if pad:
            packed = np.pad(packed, ((0, 0), (0, pad)))
        return np.ascontiguousarray(packed).view(np.uint64)

    def counts(self, q0: int, q1: int, r0: int, r1: int) -> np.ndarray:
        q = self.q[q0:q1]
        r = self.r[r0:r1]
        n_words = q.shape[1]
        out = np.zeros((q1 - q0, r1 - r0), dtype=np.int32)
        step = max(1, (1 << 22) // max(1, (r1 - r0) * n_words))
        for s in range(0, q1 - q0, step):
            out[s : s + step] = np.bitwise_count(q[s : s + step, None, :] & r[None, :, :]).sum(
                axis=2, dtype=np.int32
            )
        return out


def _set_bits(fps: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(row, bit) of every set bit of ``fps[order]``, row-major, and the row count."""
    rows, cols = np.nonzero(np.unpackbits(fps[order], axis=1))
    return rows.astype(np.int64), cols.astype(np.int64), len(order)


def _lists_to_csr(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int):
    """CSR (int32 ones) from row-major (row, col) lists."""
    from scipy import sparse

    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return sparse.csr_array(
        (np.ones(len(cols), dtype=np.int32), cols.astype(np.int32), indptr),
        shape=(n_rows, n_cols),
    )


class _TorchCounter:
    """Intersection counts: a matrix product over frequent bits plus sparse rare bits.

    Columns are ordered by how many query-reference pairs they can join
    (``f_query * f_reference``). The first ``D`` go to a dense product of 0/1
    values; the rest, set in few molecules, are counted by a sparse product
    (SciPy) and added to the tile. ``D`` minimises a simple cost model; both parts
    are integer counts, so the sum is exact.

    When no fingerprint has more than 256 bits (every count is then <= 256), the
    dense product runs in bfloat16 with bfloat16 output: integers up to 256 are
    exact in bfloat16, and the output has half the memory traffic. The tile is
    then read as int16 bit patterns, which order non-negative bfloat16 values
    exactly like the numbers they encode. Otherwise an int8 product with int32
    accumulation (``torch._int_mm``) is used. Output buffers are reused.
    """

    _DENSE_COST = 1.5e-11  # seconds per multiply-add of the dense product
    _SPARSE_COST = 1.0e-8  # seconds per multiply-add of the sparse product

    def __init__(self, q_set, r_set, same: bool, max_count: int, n_bits: int) -> None:
        import torch

        self.torch = torch
        fq = np.bincount(q_set[1], minlength=n_bits).astype(np.float64)
        fr = fq if same else np.bincount(r_set[1], minlength=n_bits).astype(np.float64)
        weight = fq * fr
        cols = np.argsort(-weight, kind="stable")
        n_cols = int(np.count_nonzero(weight))  # bits never shared are dropped
        tail = np.concatenate([np.cumsum(weight[cols][::-1])[::-1], [0.0]])
        cands = np.unique(np.r_[np.arange(0, n_cols, 8), n_cols])
        cost = (
            q_set[2] * float(r_set[2]) * cands * self._DENSE_COST
            + tail[cands] * self._SPARSE_COST
        )
        d = int(cands[np.argmin(cost)])
        self.n_dense = d
        self.bf16 = max_count <= 256
        rank = np.empty(n_bits, dtype=np.int64)
        rank[cols] = np.arange(n_bits)
        dt = torch.bfloat16 if self.bf16 else torch.int8

        def split(rows, bits, n_rows):
            r = rank[bits]
            dense_m = r < d
            dense = np.zeros((n_rows, d), dtype=np.uint8)
            dense[rows[dense_m], r[dense_m]] = 1
            rare_m = (r >= d) & (r < n_cols)
            rare = None
            if n_cols > d:
                rare = _lists_to_csr(rows[rare_m], r[rare_m] - d, n_rows, n_cols - d)
            return torch.from_numpy(dense).to(dt), rare

        self.q, self.q_rare = split(*q_set)
        if same:
            self.r, self.r_rare = self.q, self.q_rare
        else:
            self.r, self.r_rare = split(*r_set)
        self._block = None
        self._buffers: dict = {}
        self.symmetric = False
        # counts are returned as int16 bf16 bit patterns (bf16) or int32 (int8 path)
        self.dtype = np.int16 if self.bf16 else np.int32

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Integer thresholds in the tile's representation (huge values stay huge)."""
        if not self.bf16:
            return np.minimum(values, np.iinfo(np.int32).max).astype(np.int32)
        v = np.minimum(values, 256).astype(np.float32)
        enc = (v.view(np.uint32) >> 16).astype(np.int16)
        return np.where(values > 256, np.int16(32767), enc)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        """Counts (float64) from the tile's representation."""
        if not self.bf16:
            return raw.astype(np.float64)
        return (raw.astype(np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)

    def counts(self, q0: int, q1: int, r0: int, r1: int) -> np.ndarray:
        torch = self.torch
        shape = (q1 - q0, r1 - r0)
        if self.n_dense and self.bf16:
            buf = self._buffers.get(shape)
            if buf is None:
                buf = self._buffers[shape] = torch.empty(shape, dtype=torch.bfloat16)
            torch.mm(self.q[q0:q1], self.r[r0:r1].T, out=buf)
            out = buf.view(torch.int16).numpy()
        elif self.n_dense:
            out = torch._int_mm(self.q[q0:q1], self.r[r0:r1].T).numpy()
        else:
            out = np.zeros(shape, dtype=self.dtype)
        if self.q_rare is not None:
            if self._block is None or self._block[0] != (q0, q1):
                # symmetric search never asks for references before the block
                start = q0 if self.symmetric else 0
                prod = (self.r_rare[start:] @ self.q_rare[q0:q1].T).tocsr()
                self._block = ((q0, q1), start, prod.indptr, prod.indices, prod.data)
            _, start, indptr, qi, val = self._block
            indptr = indptr[r0 - start : r1 - start + 1]
            lo, hi = indptr[0], indptr[-1]
            if hi > lo:
                rj = np.repeat(np.arange(r1 - r0, dtype=np.int64), np.diff(indptr))
                flat = qi[lo:hi].astype(np.int64) * (r1 - r0) + rj
                view = out.reshape(-1)
                if self.bf16:
                    total = self.decode(view[flat]).astype(np.float32) + val[lo:hi].astype(np.float32)
                    view[flat] = (total.view(np.uint32) >> 16).astype(np.int16)
                else:
                    view[flat] += val[lo:hi].astype(np.int32)
        return out


# --------------------------------------------------------------------------- search
def _merge(pool, new, k: int):
    """Merge candidate triples (row, ref, sim) and keep the top-k per row."""
    rows = np.concatenate([pool[0], new[0]])
    refs = np.concatenate([pool[1], new[1]])
    sims = np.concatenate([pool[2], new[2]])
    order = np.lexsort((refs, -sims, rows))
    rows, refs, sims = rows[order], refs[order], sims[order]
    if len(rows):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
        keep = rank < k
        rows, refs, sims = rows[keep], refs[keep], sims[keep]
    return rows, refs, sims


def _prepare(fps, ref_fps, k, min_similarity, exclude_self):
    """Check the inputs of a neighbour search and clip ``k``.

    Shared by :func:`find_neighbors` and ``find_neighbors_distributed`` (called
    directly from their public function, so the warning's ``stacklevel`` points
    at the user's call). Returns the empty :class:`NeighborGraph` when there is
    nothing to search, else ``(q_fps, r_fps, same, exclude_self, k_eff, params)``.
    """
    q_fps = _check_fps(fps, "fps")
    same = ref_fps is None
    r_fps = q_fps if same else _check_fps(ref_fps, "ref_fps")
    if q_fps.shape[1] != r_fps.shape[1]:
        raise ShapeMismatchError(
            f"fps has {q_fps.shape[1] * 8} bits but ref_fps has {r_fps.shape[1] * 8}; "
            "compute both with the same n_bits."
        )
    exclude_self = same if exclude_self is None else bool(exclude_self)
    n_q, n_r = len(q_fps), len(r_fps)
    if exclude_self and n_q != n_r:
        raise InvalidParameterError(
            f"exclude_self=True needs as many queries as references; got {n_q} and {n_r}. "
            "Pass exclude_self=False for queries against a different reference set."
        )
    params = {
        "k": int(k), "min_similarity": float(min_similarity), "exclude_self": exclude_self,
        "n_bits": int(q_fps.shape[1] * 8),
    }
    max_k = n_r - 1 if exclude_self else n_r
    k_eff = int(k)
    if n_q and k_eff > max_k:
        warnings.warn(
            f"k={k} exceeds the {max_k} possible neighbours per query; using k={max(max_k, 0)}.",
            UserWarning,
            stacklevel=3,
        )
        k_eff = max(max_k, 0)
    if n_q == 0 or k_eff == 0:
        return NeighborGraph(
            np.zeros(n_q + 1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0), n_r, params
        )
    return q_fps, r_fps, same, exclude_self, k_eff, params


def find_neighbors(
    fps: np.ndarray,
    ref_fps: np.ndarray | None = None,
    *,
    k: int = 24,
    min_similarity: float = MIN_SIMILARITY,
    exclude_self: bool | None = None,
    backend: str = "auto",
    block_size: int | None = None,
    n_jobs: int | None = None,
    show_progress: bool | None = False,
) -> NeighborGraph:
    """Exact top-k Tanimoto neighbours with a similarity threshold.

    Parameters
    ----------
    fps : numpy.ndarray of uint8, shape (n_query, n_bits // 8)
        Packed query fingerprints (:func:`compute_fingerprints`).
    ref_fps : numpy.ndarray of uint8, shape (n_reference, n_bits // 8), optional
        Packed reference fingerprints. None means all-against-all: the
        reference set is ``fps`` itself.
    k : int, default=24
        Neighbours kept per query. If ``k`` exceeds the number of possible
        neighbours (``n_reference``, minus one when self is excluded) it is
        clipped to that number with a ``UserWarning``.
    min_similarity : float in [0, 1], default=0.35
        Neighbours need ``similarity >= min_similarity`` (compared in float64),
        so rows may hold fewer than ``k`` neighbours.
    exclude_self : bool, optional
        Skip the pair ``(i, i)``. Defaults to True for all-against-all and False
        otherwise; True with ``ref_fps`` requires equal lengths (the two sets
        are the same molecules in the same order). Only the same index is
        skipped: duplicate molecules at other indices are neighbours with
        similarity 1.
    backend : {"auto", "torch", "numpy"}, default="auto"
        "torch" uses blocked int8 matrix products (fast; needs PyTorch),
        "numpy" uses ``np.bitwise_count``; "auto" picks torch when importable.
        Both give identical results.
    block_size : int, optional
        Molecules per block. All-against-all compares (block, block) tiles of
        the upper triangle (default 2048 for torch, 512 for numpy); queries
        against references use query blocks (default 1024 / 256) and reference
        chunks of 4,096. Memory grows with the tile size.
    n_jobs : int, optional
        CPU threads for the torch backend (None or -1: all available cores).
    show_progress : bool, default=False
        Show a progress bar with ETA (None: only on a terminal).

    Returns
    -------
    NeighborGraph
        Rows in query order, each sorted by similarity descending; equal
        similarities are ordered by reference index ascending (the tie rule).

    Notes
    -----
    Tanimoto similarity is ``c / (a + b - c)`` with ``a``, ``b`` the bit counts
    and ``c`` the common bits, computed in float64 exactly as RDKit's
    ``BulkTanimotoSimilarity``. Two fingerprints with no set bits have
    similarity 0.0 (as in RDKit), so a molecule without bits has no neighbours
    unless ``min_similarity`` is 0.

    Examples
    --------
    >>> from cliffkit.similarity import compute_fingerprints
    >>> fps = compute_fingerprints(["CCO", "CCCO", "CCN", "c1ccccc1"])
    >>> g = find_neighbors(fps, k=2, min_similarity=0.0)
    >>> g.row(0)[0].tolist()
    [1, 2]
    """
    validate_params(
        _CONSTRAINTS,
        {
            "k": k, "min_similarity": min_similarity, "exclude_self": exclude_self,
            "backend": backend, "block_size": block_size, "n_jobs": n_jobs,
            "show_progress": show_progress,
        },
        "find_neighbors",
    )
    prep = _prepare(fps, ref_fps, k, min_similarity, exclude_self)
    if isinstance(prep, NeighborGraph):
        return prep
    q_fps, r_fps, same, exclude_self, k_eff, params = prep
    n_q, n_r = len(q_fps), len(r_fps)

    if backend == "auto":
        try:
            import torch  # noqa: F401

            backend = "torch"
        except ImportError:  # pragma: no cover - torch is a dependency
            backend = "numpy"

    t0 = time.perf_counter()
    info: dict = {}
    rows, refs, sims = _search(
        q_fps, r_fps, same=same, k=k_eff, min_similarity=float(min_similarity),
        exclude_self=exclude_self, backend=backend, block_size=block_size,
        n_jobs=n_jobs, show_progress=show_progress, info=info,
    )
    params["backend"] = backend
    params.update(info)
    params["seconds"] = round(time.perf_counter() - t0, 3)
    counts = np.bincount(rows, minlength=n_q)
    indptr = np.zeros(n_q + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return NeighborGraph(indptr, refs, sims, n_r, params)


def _search(q_fps, r_fps, *, same, k, min_similarity, exclude_self, backend, block_size,
            n_jobs, show_progress, info):
    """Return (query, ref, sim) triples sorted by query, -sim, ref (original indices)."""
    a_all = _popcount_rows(q_fps)
    b_all = a_all if same else _popcount_rows(r_fps)
    q_order = np.argsort(a_all, kind="stable")
    r_order = q_order if same else np.argsort(b_all, kind="stable")
    a = a_all[q_order]
    b = b_all[r_order]

    n_q, n_r = len(a), len(b)
    if backend == "torch":
        import torch

        threads = resolve_n_jobs(n_jobs)
        old_threads = torch.get_num_threads()
        torch.set_num_threads(threads)
        q_set = _set_bits(q_fps, q_order)
        r_set = q_set if same else _set_bits(r_fps, r_order)
        counter = _TorchCounter(
            q_set, r_set, same, int(max(a.max(), b.max())), n_bits=q_fps.shape[1] * 8
        )
        del q_set, r_set
        info["n_dense"] = counter.n_dense
        bq = block_size or 1024
        br = _BR
    else:
        # Bits set in no query or no reference never contribute to an intersection.
        q_bits = np.unpackbits(q_fps, axis=1)
        r_bits = q_bits if same else np.unpackbits(r_fps, axis=1)
        active = q_bits.any(axis=0) & r_bits.any(axis=0)
        q_bits = np.ascontiguousarray(q_bits[q_order][:, active])
        r_bits = q_bits if same else np.ascontiguousarray(r_bits[r_order][:, active])
        counter = _NumpyCounter(q_bits, r_bits)
        del q_bits, r_bits
        bq = block_size or 256
        br = 4096

    if same:
        bs = block_size or (2048 if backend == "torch" else 512)
        n_blk = -(-n_q // bs)
        # block i compares with blocks i..n-1: count tiles so the ETA is right
        bar = _progress(n_blk * (n_blk + 1) // 2, show_progress, unit="tile")
        try:
            counter.symmetric = True
            out = _loop_symmetric(counter, a, q_order, k, min_similarity, exclude_self, bs, bar)
        finally:
            if bar is not None:
                bar.close()
            if backend == "torch":
                torch.set_num_threads(old_threads)
        return _finish(*out)

    # reference chunks: contiguous ranges of the popcount-sorted references
    bounds = list(range(0, n_r, br)) + [n_r]
    chunks = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    b_lo = np.array([b[s] for s, _ in chunks], dtype=np.int64)
    b_hi = np.array([b[e - 1] for _, e in chunks], dtype=np.int64)
    # position of each sorted query in sorted reference order (for self-exclusion)
    q_pos_in_r = np.arange(n_q) if exclude_self and same else None
    if exclude_self and not same:
        inv = np.empty(n_r, dtype=np.int64)
        inv[r_order] = np.arange(n_r)
        q_pos_in_r = inv[q_order]

    out_rows, out_refs, out_sims = [], [], []
    bar = _progress(n_q, show_progress)
    try:
        for q0 in range(0, n_q, bq):
            q1 = min(n_q, q0 + bq)
            a_blk = a[q0:q1]
            nb = q1 - q0
            t = np.full(nb, min_similarity)
            pool = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
            mid = a_blk[nb // 2]
            dist = np.maximum(0, np.maximum(b_lo - mid, mid - b_hi))
            for ci in np.argsort(dist, kind="stable"):
                r0, r1 = chunks[ci]
                lo, hi = b_lo[ci], b_hi[ci]
                # best similarity any pair of this row and chunk could reach
                best = np.where(
                    a_blk > hi, hi / np.maximum(a_blk, 1),
                    np.where(a_blk < lo, a_blk / max(lo, 1), 1.0),
                )
                best = np.where((a_blk == 0) | (hi == 0), 0.0, best)
                if not np.any(best >= t):
                    continue
                counts = counter.counts(q0, q1, r0, r1)
                theta = np.ceil(t * (a_blk + lo) / (1.0 + t) - 1e-9)
                theta = counter.encode(np.where(best >= t, np.maximum(theta, 0), 1 << 30).astype(np.int64))
                mask = counts >= theta[:, None]
                if q_pos_in_r is not None:
                    qp = q_pos_in_r[q0:q1]
                    inside = (qp >= r0) & (qp < r1)
                    mask[np.flatnonzero(inside), qp[inside] - r0] = False
                flat = np.flatnonzero(mask)
                if len(flat) == 0:
                    continue
                ii, jj = np.divmod(flat, r1 - r0)
                c = counter.decode(counts.reshape(-1)[flat])
                den = a_blk[ii] + b[r0 + jj] - c
                s = np.divide(c, den, out=np.zeros_like(c), where=den > 0)
                ok = s >= t[ii]
                ii, jj, s = ii[ok], jj[ok], s[ok]
                if len(ii) == 0:
                    continue
                pool = _merge(pool, (ii, r_order[r0 + jj], s), k)
                # rows with k neighbours raise their threshold to the k-th similarity
                cnt = np.bincount(pool[0], minlength=nb)
                full = np.flatnonzero(cnt >= k)
                if len(full):
                    ends = np.cumsum(cnt)
                    t[full] = np.maximum(t[full], pool[2][ends[full] - 1])
            out_rows.append(q_order[q0 + pool[0]])
            out_refs.append(pool[1])
            out_sims.append(pool[2])
            if bar is not None:
                bar.update(nb)
    finally:
        if bar is not None:
            bar.close()
        if backend == "torch":
            torch.set_num_threads(old_threads)
    return _finish(out_rows, out_refs, out_sims)


def _finish(out_rows, out_refs, out_sims):
    rows = np.concatenate(out_rows)
    refs = np.concatenate(out_refs)
    sims = np.concatenate(out_sims)
    order = np.lexsort((refs, -sims, rows))
    return rows[order], refs[order], sims[order]


def _raise_thresholds(pool, t: np.ndarray, k: int) -> None:
    """Rows with k neighbours raise their threshold to the k-th similarity."""
    cnt = np.bincount(pool[0], minlength=len(t))
    full = np.flatnonzero(cnt >= k)
    if len(full):
        ends = np.cumsum(cnt)
        t[full] = np.maximum(t[full], pool[2][ends[full] - 1])


def _loop_symmetric(counter, a, order, k, min_similarity, exclude_self, bs, bar):
    """All-against-all over the upper triangle of (block, block) tiles.

    ``a`` (popcounts) and ``counter`` are in popcount-sorted order. Tile (i, j),
    j >= i, gives candidates to block i's rows directly and, transposed, to block
    j's rows, which are kept in ``pending[j]`` (scored against ``min_similarity``
    only and cut to the top-k per row when they grow) until block j is processed.
    """
    n = len(a)
    starts = list(range(0, n, bs))
    blocks = [(s, min(n, s + bs)) for s in starts]
    lo_b = np.array([a[s] for s, _ in blocks], dtype=np.int64)
    hi_b = np.array([a[e - 1] for _, e in blocks], dtype=np.int64)
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    pending: list = [empty for _ in blocks]
    pend_size = [0] * len(blocks)
    out_rows, out_refs, out_sims = [], [], []
    big = 1 << 30
    for bi, (q0, q1) in enumerate(blocks):
        a_blk = a[q0:q1]
        nb = q1 - q0
        t = np.full(nb, min_similarity)
        pool = _merge(empty, pending[bi], k)
        pending[bi] = None
        _raise_thresholds(pool, t, k)
        buf: list = []
        n_buf = 0
        for bj in range(bi, len(blocks)):
            r0, r1 = blocks[bj]
            lo, hi = lo_b[bj], hi_b[bj]  # lo >= every a in this block
            best = np.where(a_blk < lo, a_blk / max(lo, 1), 1.0)
            best = np.where((a_blk == 0) | (hi == 0), 0.0, best)
            row_on = best >= t
            b_blk = a[r0:r1]
            col_on = None
            if bj > bi:
                amax = hi_b[bi]
                cbest = np.where(b_blk > amax, amax / np.maximum(b_blk, 1), 1.0)
                cbest = np.where((b_blk == 0) | (amax == 0), 0.0, cbest)
                col_on = cbest >= min_similarity
                if not col_on.any():
                    col_on = None
            if not row_on.any() and col_on is None:
                if bj > bi and lo_b[bj] > hi_b[bi] and min_similarity > 0:
                    break  # later blocks have even more bits: nothing can reach either side
                continue
            counts = counter.counts(q0, q1, r0, r1)
            width = r1 - r0
            if row_on.any():
                theta = np.ceil(t * (a_blk + lo) / (1.0 + t) - 1e-9)
                theta = counter.encode(np.where(row_on, np.maximum(theta, 0), big).astype(np.int64))
                mask = counts >= theta[:, None]
                if bj == bi and exclude_self:
                    np.fill_diagonal(mask, False)
                flat = np.flatnonzero(mask)
                if len(flat):
                    ii, jj = np.divmod(flat, width)
                    c = counter.decode(counts.reshape(-1)[flat])
                    den = a_blk[ii] + b_blk[jj] - c
                    sim = np.divide(c, den, out=np.zeros_like(c), where=den > 0)
                    ok = sim >= t[ii]
                    if ok.any():
                        buf.append((ii[ok], order[r0 + jj[ok]], sim[ok]))
                        n_buf += int(ok.sum())
                        if n_buf >= 4 * nb:  # merge in batches: thresholds rise, sorts stay few
                            pool = _merge(pool, _cat(buf), k)
                            _raise_thresholds(pool, t, k)
                            buf, n_buf = [], 0
            if col_on is not None:
                tau = min_similarity
                theta_c = np.ceil(tau * (a_blk[0] + b_blk) / (1.0 + tau) - 1e-9)
                theta_c = counter.encode(np.where(col_on, np.maximum(theta_c, 0), big).astype(np.int64))
                flat = np.flatnonzero(counts >= theta_c[None, :])
                if len(flat):
                    ii, jj = np.divmod(flat, width)
                    c = counter.decode(counts.reshape(-1)[flat])
                    den = a_blk[ii] + b_blk[jj] - c
                    sim = np.divide(c, den, out=np.zeros_like(c), where=den > 0)
                    ok = sim >= tau
                    if ok.any():
                        new = (jj[ok], order[q0 + ii[ok]], sim[ok])
                        pend = pending[bj]
                        pending[bj] = tuple(
                            np.concatenate([x, y]) for x, y in zip(pend, new, strict=True)
                        )
                        pend_size[bj] += int(ok.sum())
                        if pend_size[bj] > 8 * k * (r1 - r0) + 100_000:
                            pending[bj] = _merge(empty, pending[bj], k)
                            pend_size[bj] = len(pending[bj][0])
        if buf:
            pool = _merge(pool, _cat(buf), k)
        out_rows.append(order[q0 + pool[0]])
        out_refs.append(pool[1])
        out_sims.append(pool[2])
        if bar is not None:
            bar.update(len(blocks) - bi)
    return out_rows, out_refs, out_sims


def _cat(parts):
    return tuple(np.concatenate(x) for x in zip(*parts, strict=True))


def _progress(total: int, show_progress: bool | None, unit: str = "mol"):
    import sys

    if show_progress is None:
        show_progress = sys.stderr.isatty()
    if not show_progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="neighbours", unit=unit, smoothing=0.05)


def tanimoto_matrix(fps: np.ndarray, ref_fps: np.ndarray | None = None) -> np.ndarray:
    """Dense exact Tanimoto matrix (float64) for small inputs, e.g. tests and plots.

    Parameters
    ----------
    fps : numpy.ndarray of uint8, shape (n, n_bits // 8)
    ref_fps : numpy.ndarray of uint8, shape (m, n_bits // 8), optional
        Defaults to ``fps``.

    Returns
    -------
    numpy.ndarray of float64, shape (n, m)
    """
    q = _check_fps(fps, "fps")
    r = q if ref_fps is None else _check_fps(ref_fps, "ref_fps")
    counter = _NumpyCounter(np.unpackbits(q, axis=1), np.unpackbits(r, axis=1))
    c = counter.counts(0, len(q), 0, len(r)).astype(np.float64)
    den = _popcount_rows(q)[:, None] + _popcount_rows(r)[None, :] - c
    return np.divide(c, den, out=np.zeros_like(c), where=den > 0)
