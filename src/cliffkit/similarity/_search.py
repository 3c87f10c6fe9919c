"""Exact Tanimoto top-k neighbour search on packed fingerprints.

Algorithm
---------
Queries and references are sorted by popcount. Each block of queries is compared
with chunks of references, nearest popcounts first, and keeps a running top-k per
row. Row ``i`` keeps a threshold ``t_i``: the larger of ``min_similarity`` and the
similarity of its current k-th neighbour. Since ``c / (a + b - c)`` grows with the
common-bit count ``c`` and falls with ``b``, a pair can only reach ``t_i`` if
``c >= t_i (a_i + b) / (1 + t_i)``. Chunks whose popcount range cannot reach
``t_i`` (``min(a, b) / max(a, b) < t_i``) are skipped.

Counting (torch backend): each fingerprint's bits are summed into ``K`` buckets
(every bit goes to one bucket), giving a small count vector ``x``. The product
``x_q . x_r`` is an *upper bound* of the exact common-bit count ``c`` (the products
of different bits that share a bucket only add), computed for a whole tile by one
dense matrix product with ``K`` inner terms. Frequent bits get buckets of their own
and rare bits share, so the bound is tight: on QM9 ECFP4 with ``K = 128`` about
0.2 % of all pairs pass ``bound >= threshold``. Only those pairs get their exact
count (AND + popcount of the packed words) and an exact float64 similarity; the
others cannot be in the top-k. When at most 256 bits are used at all, the buckets
are the bits themselves and the product is the exact count.

Per block, the strategy follows from what the bound prunes: the first chunk of a
block seeds every row with the ``k`` references of largest bound (scored
exactly), which gives a real k-th similarity and so a threshold even at
``min_similarity = 0``; after that, only pairs passing the bound are scored. The
bucket count ``K`` is chosen from the pass fractions measured on a sample of rows
(see :func:`_plan`). The result is exact: every pair that can be in the top-k is
scored in float64 exactly as RDKit does, and ties go to the lower reference index.

Blocks are independent: they run on ``n_jobs`` threads (one PyTorch thread each)
and, with ``checkpoint_dir``, are grouped into resumable shards.

Reference shards (``ref_shard_size``): every query row keeps its best ``k`` so far in
a pool that outlives a reference shard; the next shard's search starts from it (its
k-th similarity is the row's threshold from the first chunk on) and merges into it
with the same :func:`_merge`. The merge keeps the first ``k`` of one total order
(similarity descending, reference index ascending), so the result does not depend on
how the references are cut.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import CliffkitWarning, InvalidParameterError, ShapeMismatchError
from ..utils import Interval, Options, one_line, user_stacklevel, validated
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
    "checkpoint_dir": [None, str, os.PathLike],
    "shard_size": [None, Interval(int, 1, None)],
    "ref_shard_size": [None, Interval(int, 1, None)],
}

_BR = 4096  # reference chunk width
_SEED_SPAN = 4096  # references of the first chunk that seed the thresholds
_SEED_FACTOR = 4  # seed with the 4k largest bounds (a higher k-th similarity than k)
_BIG_REF = np.iinfo(np.int64).max
_CHECKPOINT_VERSION = 2  # 2: pools per shard, reference shards
# cost model of _plan: seconds per pair, measured on the 2-core AMD EPYC (Zen 4) of the
# project with one thread (bf16 products with K inner terms; exact rescoring of a pair)
_GEMM_COST = {64: 1.6e-9, 128: 2.6e-9, 256: 5.2e-9}
_RESCORE_COST = 1.0e-7


def _popcount_rows(fps: np.ndarray) -> np.ndarray:
    return np.bitwise_count(fps).sum(axis=1, dtype=np.int64)


def _check_fps(fps, name: str) -> np.ndarray:
    arr = np.asarray(fps)
    if arr.ndim != 2 or arr.dtype != np.uint8:
        raise InvalidParameterError(
            f"The {name!r} parameter of find_neighbors must be a 2-D uint8 array of packed bits "
            f"(from compute_fingerprints); got dtype {arr.dtype} and shape {arr.shape}."
        )
    return np.ascontiguousarray(arr)


def _words(fps: np.ndarray) -> np.ndarray:
    """Packed bits as uint64 words (zero-padded to a multiple of 8 bytes)."""
    pad = (-fps.shape[1]) % 8
    if pad:
        fps = np.pad(fps, ((0, 0), (0, pad)))
    return np.ascontiguousarray(fps).view(np.uint64)


# --------------------------------------------------------------------------- counters
class _NumpyCounter:
    """Exact intersection counts by AND + popcount on 64-bit words."""

    exact = True
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
        return _words(np.packbits(bits, axis=1))

    def counts(self, q0: int, q1: int, r0: int, r1: int, bufs=None) -> np.ndarray:
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


def _set_bits(fps: np.ndarray, order: np.ndarray, step: int = 65536):
    """Yield (start, rows, bits) of the set bits of ``fps[order]`` in row blocks.

    Only the non-zero bytes are unpacked (fingerprints are sparse), in row-major order.
    """
    for s in range(0, len(order), step):
        part = fps[order[s : s + step]]
        rows, pos = np.nonzero(part)
        sub_r, sub_b = np.nonzero(np.unpackbits(part[rows, pos][:, None], axis=1))
        yield s, rows[sub_r], pos[sub_r].astype(np.int64) * 8 + sub_b


def _csr(fps: np.ndarray, idx: np.ndarray, n_bits: int):
    """0/1 CSR matrix (int32) of the rows ``fps[idx]``."""
    from scipy import sparse

    _, rows, cols = next(_set_bits(fps, idx, step=len(idx)))
    indptr = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(idx)), out=indptr[1:])
    return sparse.csr_array(
        (np.ones(len(cols), dtype=np.int32), cols.astype(np.int32), indptr),
        shape=(len(idx), n_bits),
    )


def _bucket_map(weight: np.ndarray, n_buckets: int) -> np.ndarray:
    """Bucket of every bit (-1: never shared), balancing ``weight`` greedily.

    Bits are taken in decreasing weight (the number of query-reference pairs they
    join), each to the bucket of least total weight so far (LPT scheduling; above
    16,384 used bits, by rounds of ``n_buckets`` bits: the heaviest of a round to the
    lightest bucket, and so on). Frequent bits get buckets of their own; rare bits share.
    """
    used = np.flatnonzero(weight > 0)
    out = np.full(len(weight), -1, dtype=np.int64)
    if len(used) <= n_buckets:
        out[used] = np.arange(len(used))
        return out
    order = used[np.argsort(-weight[used], kind="stable")]
    if len(order) <= 16384:  # exact LPT: each bit to the bucket of least load so far
        heap = [(0.0, b) for b in range(n_buckets)]
        for bit in order:
            load, b = heapq.heappop(heap)
            out[bit] = b
            heapq.heappush(heap, (load + float(weight[bit]), b))
        return out
    load = np.zeros(n_buckets)
    for s in range(0, len(order), n_buckets):
        bits = order[s : s + n_buckets]
        target = np.argsort(load, kind="stable")[: len(bits)]
        out[bits] = target
        load[target] += weight[bits]
    return out


def _project(fps: np.ndarray, order: np.ndarray, bucket: np.ndarray, n_buckets: int):
    """Bucket counts of ``fps[order]``: uint16 array of shape (n, n_buckets)."""
    out = np.zeros((len(order), n_buckets), dtype=np.uint16)
    for s, rows, cols in _set_bits(fps, order):
        b = bucket[cols]
        keep = b >= 0
        flat = rows[keep] * n_buckets + b[keep]
        n_rows = min(len(order) - s, 65536)
        out[s : s + n_rows] = np.bincount(flat, minlength=n_rows * n_buckets).reshape(
            n_rows, n_buckets
        )
    return out


class _SketchCounter:
    """Upper bounds of the common-bit counts by a dense product of bucket counts.

    ``x_q . x_r >= c`` for the bucket counts ``x`` (see the module docstring); the
    bound is exact when every bucket holds one bit (``self.exact``). Bucket counts up
    to 256 are exact in bfloat16, so the product runs in bfloat16 in and out
    (accumulated in float32, rounded once); larger counts use float32 throughout. The
    bfloat16 tile is read as int16 bit patterns, which order non-negative values like
    the numbers. Products above 256 are rounded to bfloat16 (8 significant bits):
    rounding is monotone, so ``bound >= theta`` implies ``round(bound) >=
    round(theta)``; thresholds are lowered by 2**-6 relative for safety and bounds read
    back are raised likewise (:meth:`upper`), so no pair that can pass is lost.
    """

    _SLACK = 2.0**-6

    def __init__(self, xq: np.ndarray | None, xr: np.ndarray, exact: bool, a_max: int,
                 b_max: int, q_cache: dict | None = None, q_max: int | None = None):
        import torch

        self.torch = torch
        self.exact = exact
        same = xr is xq
        q_max = int(xq.max(initial=0)) if q_max is None else q_max
        x_max = max(q_max, int(xr.max(initial=0)))
        self.bf16 = x_max <= 256
        # can a product exceed 256 (then bf16 output rounds)?
        self.rounded = self.bf16 and min(a_max * int(xr.max(initial=0)), b_max * q_max) > 256
        if self.rounded:
            self.exact = False  # read-back values are rounded: rescore exactly
        dt = torch.bfloat16 if self.bf16 else torch.float32
        # the query tensor is built once and shared by the reference shards' counters
        # (``xq`` may then be None); a cached tensor of the other dtype converts
        # exactly (bfloat16 is only used for counts up to 256)
        q_cache = {} if q_cache is None else q_cache
        if dt not in q_cache:
            q_cache[dt] = (self._tensor(xq, dt) if xq is not None
                           else next(iter(q_cache.values())).to(dt))
        self.q = q_cache[dt]
        self.r = self.q if same else self._tensor(xr, dt)
        self.dtype = np.int16 if self.bf16 else np.float32

    def _tensor(self, x: np.ndarray, dt):
        """``x`` as a torch tensor of ``dt``, converted in row chunks (bounded memory)."""
        out = self.torch.empty(x.shape, dtype=dt)
        for s in range(0, len(x), 65536):
            out[s : s + 65536] = self.torch.from_numpy(x[s : s + 65536].astype(np.float32))
        return out

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Integer thresholds in the tile's representation (huge values stay huge)."""
        v = np.minimum(values, 1 << 30).astype(np.float32)
        if not self.bf16:
            return v
        if self.rounded:
            v = (v * (1.0 - self._SLACK)).astype(np.float32)
        bits = v.view(np.uint32)
        # round to the nearest bfloat16 (ties to even): monotone
        bits = (bits + np.uint32(0x7FFF) + ((bits >> 16) & np.uint32(1))) >> 16
        return bits.astype(np.int16)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        if not self.bf16:
            return raw.astype(np.float64)
        return (raw.astype(np.uint16).astype(np.uint32) << 16).view(np.float32).astype(np.float64)

    def upper(self, raw: np.ndarray) -> np.ndarray:
        """A value >= the bound before rounding."""
        v = self.decode(raw)
        return v * (1.0 + self._SLACK) + 1.0 if self.rounded else v

    def counts(self, q0: int, q1: int, r0: int, r1: int, bufs: dict) -> np.ndarray:
        """Bound tile of sorted queries ``q0:q1`` and references ``r0:r1`` (buffers reused)."""
        torch = self.torch
        shape = (q1 - q0, r1 - r0)
        buf = bufs.get(shape)
        if buf is None:
            buf = bufs[shape] = torch.empty(shape, dtype=self.q.dtype)
        torch.mm(self.q[q0:q1], self.r[r0:r1].T, out=buf)
        return buf.view(torch.int16).numpy() if self.bf16 else buf.numpy()


# --------------------------------------------------------------------------- planning
def _plan(q_fps, r_fps, q_order, r_order, a, b, same, k, min_similarity, info):
    """Choose the bucket count ``K`` from measured pass fractions.

    Returns ``(bucket, width, exact)``: the bucket of every bit (:func:`_bucket_map`),
    the number of buckets and whether the bucket counts are the exact counts.
    ``r_order``/``b`` may be any order of the references with their popcounts (only
    bit frequencies and a random sample are read), so a sharded reference plans once.

    A sample of up to 256 queries (evenly spread over the popcount order) is scored
    exactly against up to 8,192 random references (fixed seed). Each sampled row's
    threshold is estimated as its ``ceil(k * m / n_reference)``-th best similarity
    among the ``m`` sampled references (or ``min_similarity`` if larger). For each
    ``K`` the fraction of sampled pairs whose bound passes that threshold is
    measured; ``K`` minimises ``gemm_cost(K) + pass_fraction(K) * rescore_cost``.
    The choice affects speed only, never the result.
    """
    n_bits = q_fps.shape[1] * 8
    fq = np.zeros(n_bits, dtype=np.float64)
    for _, _, cols in _set_bits(q_fps, q_order):
        fq += np.bincount(cols, minlength=n_bits)
    if same:
        fr = fq
    else:
        fr = np.zeros(n_bits, dtype=np.float64)
        for _, _, cols in _set_bits(r_fps, r_order):
            fr += np.bincount(cols, minlength=n_bits)
    weight = fq * fr
    n_used = int(np.count_nonzero(weight))
    info["bits_shared"] = n_used
    if n_used <= 256:
        bucket = _bucket_map(weight, max(n_used, 1))
        width, exact = max(n_used, 1), True
        info["sketch"] = f"exact ({width} shared bits)"
    else:
        rng = np.random.default_rng(0)
        qs = np.unique(np.linspace(0, len(a) - 1, min(256, len(a))).astype(np.int64))
        rs = np.sort(rng.choice(len(b), size=min(8192, len(b)), replace=False))
        sq, sr = _csr(q_fps, q_order[qs], n_bits), _csr(r_fps, r_order[rs], n_bits)
        c = (sq @ sr.T).toarray().astype(np.float64)
        den = a[qs, None] + b[None, rs] - c
        sim = np.divide(c, den, out=np.zeros(c.shape), where=den > 0)
        if same:
            sim[qs[:, None] == rs[None, :]] = -1.0
        kk = min(len(rs), -(-k * len(rs) // len(b)))
        kth = -np.partition(-sim, kk - 1, axis=1)[:, kk - 1]
        t = np.maximum(np.maximum(kth, min_similarity), 0.0)[:, None]
        theta = np.maximum(1.0, np.ceil(t * (a[qs, None] + b[None, rs]) / (1.0 + t) - 1e-9))
        best, pass_frac = None, {}
        for width in (64, 128, 256):
            bk = _bucket_map(weight, width)
            xqs = _project(q_fps, q_order[qs], bk, width).astype(np.float32)
            xrs = _project(r_fps, r_order[rs], bk, width).astype(np.float32)
            ub = xqs @ xrs.T
            frac = float(np.mean(ub >= theta))
            pass_frac[width] = round(frac, 6)
            cost = _GEMM_COST[width] + frac * _RESCORE_COST
            if best is None or cost < best[0]:
                best = (cost, width, bk)
        _, width, bucket = best
        exact = False
        info["sketch"] = f"{width} buckets"
        info["pass_fraction"] = pass_frac
        info["exact_pass_fraction"] = round(float(np.mean(c >= theta)), 6)
    return bucket, width, exact


# --------------------------------------------------------------------------- search
def _prepare(fps, ref_fps, k, min_similarity, exclude_self):
    """Check the inputs of a neighbour search and clip ``k``.

    Shared by :func:`find_neighbors` and ``find_neighbors_distributed``. Returns the empty :class:`NeighborGraph` when there is
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
            stacklevel=user_stacklevel(),
        )
        k_eff = max(max_k, 0)
    params["k"] = k_eff  # the k used (severity's default m = floor(sqrt(k)) reads it)
    if n_q == 0 or k_eff == 0:
        return NeighborGraph(
            np.zeros(n_q + 1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0), n_r, params
        )
    return q_fps, r_fps, same, exclude_self, k_eff, params


@validated(_CONSTRAINTS)
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
    checkpoint_dir: str | os.PathLike | None = None,
    shard_size: int | None = None,
    ref_shard_size: int | None = None,
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
        Neighbours kept per query (``k = 0`` raises). If ``k`` exceeds the number
        of possible neighbours (``n_reference``, minus one when self is excluded)
        it is clipped to that number with a ``UserWarning`` and the graph records the
        clipped ``k`` in ``params["k"]``; an empty reference
        set gives rows without neighbours.
    min_similarity : float in [0, 1], default=0.35
        Neighbours need ``similarity >= min_similarity`` (compared in float64),
        so rows may hold fewer than ``k`` neighbours. With 0, every row holds
        ``k`` neighbours; references sharing no bit (similarity 0) fill a row
        in index order when fewer than ``k`` share a bit.
    exclude_self : bool, optional
        Skip the pair ``(i, i)``. Defaults to True for all-against-all and False
        otherwise; True with ``ref_fps`` requires equal lengths (the two sets
        are then taken to be the same molecules in the same order).
    backend : {"auto", "torch", "numpy"}, default="auto"
        "torch" bounds the common-bit counts by dense bfloat16 products of
        bucket counts and scores only pairs that pass (fast; needs PyTorch);
        "numpy" counts every pair exactly with ``np.bitwise_count``; "auto"
        picks torch when importable. Both give identical results.
    block_size : int, optional
        Query rows per block (default 1024 for torch, 256 for numpy). References
        are compared in chunks of 4,096. Memory grows with the block size.
    n_jobs : int, optional
        Threads: query blocks run in parallel, one PyTorch thread each (None or
        -1: all available cores).
    show_progress : bool, default=False
        Show a progress bar with ETA (None: only on a terminal).
    checkpoint_dir : path-like, optional
        Folder for resumable shards: query blocks are grouped into shards of
        ``shard_size`` rows, each written atomically when finished (with reference
        shards: after each reference shard), next to a ``manifest.json`` with a
        sha256 of the inputs and the parameters (including both shard sizes). A
        rerun with the same folder skips finished work; a folder written for
        other inputs or parameters raises :class:`InvalidParameterError`; a shard
        file that cannot be read (truncated, damaged) is recomputed and overwritten,
        with one :class:`~cliffkit.errors.CliffkitWarning` naming such files.
    shard_size : int, optional
        Query rows per shard (default 65,536; rounded up to whole blocks).
    ref_shard_size : int, optional
        Search the references in shards of this many rows (in index order; None:
        one shard). Each shard's search starts from every row's best ``k`` so far
        (and so its k-th similarity as threshold) and merges into it, so the result
        is identical to the unsharded search. Only one shard's references are
        prepared at a time (popcount order, packed words, bucket counts: about
        ``n_bits / 8 + 256`` bytes per reference), which bounds memory for a large
        reference, e.g. a ``numpy.memmap`` of fingerprints on disk; for
        all-against-all the queries are the whole set anyway, so sharding saves
        little there. With ``checkpoint_dir``, shards are checkpointed after each
        reference shard.

    Returns
    -------
    NeighborGraph
        Rows in query order, each sorted by similarity descending; equal
        similarities are ordered by reference index ascending (the tie rule).
        ``params`` records the strategy (``sketch``, measured pass fractions)
        and the search time.

    Raises
    ------
    InvalidParameterError
        Bad parameters, fingerprints that are not 2-D uint8, or a checkpoint
        folder from other inputs.
    ShapeMismatchError
        ``fps`` and ``ref_fps`` have different bit lengths.

    Notes
    -----
    Tanimoto similarity is ``c / (a + b - c)`` with ``a``, ``b`` the bit counts
    and ``c`` the common bits, computed in float64 exactly as RDKit's
    ``BulkTanimotoSimilarity``. Two fingerprints with no set bits have
    similarity 0.0 (as in RDKit), so a molecule without bits has no neighbours
    unless ``min_similarity`` is 0. Memory: queries and references are held as
    packed bits plus two bytes per bucket (bfloat16; about ``n_bits / 8 + 256``
    bytes per molecule, shared when the two are the same set), each thread a tile
    of ``block_size x 4096`` bound values, every query's running top-k
    (``16 bytes x k``) and the result (another ``16 bytes x k`` per query).

    Examples
    --------
    >>> from cliffkit.similarity import compute_fingerprints
    >>> fps = compute_fingerprints(["CCO", "CCCO", "CCN", "c1ccccc1"])
    >>> g = find_neighbors(fps, k=2, min_similarity=0.0)
    >>> g.row(0)[0].tolist()
    [1, 2]
    """
    prep = _prepare(fps, ref_fps, k, min_similarity, exclude_self)
    if isinstance(prep, NeighborGraph):
        return prep
    q_fps, r_fps, same, exclude_self, k_eff, params = prep
    n_r = len(r_fps)

    if backend == "auto":
        try:
            import torch  # noqa: F401

            backend = "torch"
        except ImportError:  # pragma: no cover - torch is a dependency
            backend = "numpy"

    t0 = time.perf_counter()
    info: dict = {}
    indptr, refs, sims = _search(
        q_fps, r_fps, same=same, k=k_eff, min_similarity=float(min_similarity),
        exclude_self=exclude_self, backend=backend, block_size=block_size,
        n_jobs=n_jobs, show_progress=show_progress, info=info,
        checkpoint_dir=checkpoint_dir, shard_size=shard_size, ref_shard_size=ref_shard_size,
    )
    params["backend"] = backend
    params.update(info)
    params["seconds"] = round(time.perf_counter() - t0, 3)
    return NeighborGraph(indptr, refs, sims, n_r, params)


def _common_bits(wq: np.ndarray, wr: np.ndarray, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Exact common-bit counts (float64) of the pairs ``(wq[qi], wr[ri])`` of packed words.

    Batches of 4,096 pairs into reused buffers: small working sets stay in cache and
    no large temporary arrays are allocated.
    """
    m, step = len(qi), 4096
    out = np.empty(m, dtype=np.float64)
    if m == 0:
        return out
    width = wq.shape[1]
    bq = np.empty((min(m, step), width), dtype=np.uint64)
    br = np.empty_like(bq)
    cnt = np.empty(bq.shape, dtype=np.uint8)
    for s in range(0, m, step):
        e = min(m, s + step)
        n = e - s
        np.take(wq, qi[s:e], axis=0, out=bq[:n])
        np.take(wr, ri[s:e], axis=0, out=br[:n])
        np.bitwise_and(bq[:n], br[:n], out=bq[:n])
        np.bitwise_count(bq[:n], out=cnt[:n])
        out[s:e] = cnt[:n].sum(axis=1, dtype=np.int64)
    return out


def _chunks(b: np.ndarray) -> list[tuple[int, int]]:
    """Reference chunks of the popcount-sorted ``b``: at most 4,096 wide and of a narrow
    popcount range (``b_hi <= b_lo + max(1, b_lo // 16)``), since one integer bound per
    row and chunk is computed from the chunk's lowest popcount."""
    out = []
    s, n = 0, len(b)
    while s < n:
        limit = b[s] + max(1, int(b[s]) // 16)
        e = min(n, s + _BR, int(np.searchsorted(b, limit, side="right")))
        out.append((s, e))
        s = e
    return out


class _Queries:
    """Query side of a search, shared by every reference shard: the popcount order,
    the sorted popcounts and (built on first use) packed words and bucket counts."""

    def __init__(self, q_fps: np.ndarray) -> None:
        self.fps = q_fps
        a_all = _popcount_rows(q_fps)
        self.order = np.argsort(a_all, kind="stable")
        self.a = a_all[self.order]
        self.words = None  # packed words of the sorted queries
        self.tensors: dict = {}  # torch tensors of their bucket counts, by dtype
        self.x_max = None  # largest bucket count

    def sketch(self, bucket: np.ndarray, width: int) -> np.ndarray | None:
        """Bucket counts of the sorted queries (uint16), or None once a tensor holds them."""
        if self.tensors:
            return None
        x = _project(self.fps, self.order, bucket, width)
        self.x_max = int(x.max(initial=0))
        return x

    def packed(self) -> np.ndarray:
        if self.words is None:
            self.words = _words(self.fps)[self.order]
        return self.words


class _Engine:
    """State shared by the blocks of one search against one reference shard
    (read-only once built).

    The shard is ``r_fps`` = rows ``r_offset ...`` of the whole reference; ``same``:
    it is the query set itself (no sharding, all-against-all), so sorted arrays are
    shared with the query side.
    """

    def __init__(self, qs: _Queries, r_fps, r_offset, same, k, min_similarity, exclude_self,
                 backend, plan, info):
        self.qs = qs
        self.q_order, self.a = qs.order, qs.a
        if same:
            self.r_order, self.b = qs.order, qs.a
        else:
            b_all = _popcount_rows(r_fps)
            self.r_order = np.argsort(b_all, kind="stable")
            self.b = b_all[self.r_order]
        # original reference index of each sorted reference of the shard
        self.r_index = self.r_order + r_offset if r_offset else self.r_order
        self.k, self.tau = k, min_similarity
        n_r = len(self.b)
        self.exclude_self = exclude_self
        # position of each sorted query's own index among the shard's sorted references
        # (-1: not in this shard)
        self.q_pos_in_r = None
        if exclude_self:
            inv = np.empty(n_r, dtype=np.int64)
            inv[self.r_order] = np.arange(n_r)
            local = self.q_order - r_offset
            inside = (local >= 0) & (local < n_r)
            self.q_pos_in_r = np.where(inside, inv[np.where(inside, local, 0)], -1)
        if backend == "torch":
            bucket, width, exact = plan
            xq = qs.sketch(bucket, width)
            xr = xq if same else _project(r_fps, self.r_order, bucket, width)
            self.counter = _SketchCounter(xq, xr, exact, int(self.a.max(initial=0)),
                                          int(self.b.max(initial=0)), q_cache=qs.tensors,
                                          q_max=qs.x_max)
            del xq, xr  # the counter holds them as tensors
        else:
            q_bits = np.unpackbits(qs.fps, axis=1)
            r_bits = q_bits if same else np.unpackbits(r_fps, axis=1)
            active = q_bits.any(axis=0) & r_bits.any(axis=0)
            q_bits = np.ascontiguousarray(q_bits[self.q_order][:, active])
            r_bits = q_bits if same else np.ascontiguousarray(r_bits[self.r_order][:, active])
            self.counter = _NumpyCounter(q_bits, r_bits)
            info["sketch"] = "exact (numpy popcount)"
        if not self.counter.exact:
            self.wq = qs.packed()
            self.wr = self.wq if same else _words(r_fps)[self.r_order]
        self.chunks = _chunks(self.b)
        self.b_lo = np.array([self.b[s] for s, _ in self.chunks], dtype=np.int64)
        self.b_hi = np.array([self.b[e - 1] for _, e in self.chunks], dtype=np.int64)

    # -------------------------------------------------------------- one block
    def block(self, q0: int, q1: int, stats: dict, ps: np.ndarray, pr: np.ndarray) -> None:
        """Merge this shard's neighbours of sorted queries ``q0:q1`` into their pools.

        ``ps`` / ``pr`` (shape ``(q1 - q0, k)``, updated in place) hold each row's best
        similarities so far, sorted by (-similarity, reference index), and the original
        reference indices; -1 / ``_BIG_REF`` mark empty places. Pools carried from
        earlier reference shards set the starting thresholds, so pruning continues.
        """
        k, a_blk = self.k, self.a[q0:q1]
        nb = q1 - q0
        t = np.maximum(self.tau, ps[:, k - 1])  # -1 (a short pool) leaves tau
        bufs: dict = {}
        seeded = bool((ps[:, k - 1] >= 0).all())  # full pools need no seed
        pending: list = []
        n_pending = 0
        mid = a_blk[nb // 2]
        dist = np.maximum(0, np.maximum(self.b_lo - mid, mid - self.b_hi))
        qpos = None if self.q_pos_in_r is None else self.q_pos_in_r[q0:q1]
        for ci in np.argsort(dist, kind="stable"):
            r0, r1 = self.chunks[ci]
            lo, hi = self.b_lo[ci], self.b_hi[ci]
            # best similarity any pair of this row and chunk could reach
            best = np.where(
                a_blk > hi, hi / np.maximum(a_blk, 1),
                np.where(a_blk < lo, a_blk / max(lo, 1), 1.0),
            )
            best = np.where((a_blk == 0) | (hi == 0), 0.0, best)
            on = (best >= t) & (best > 0)
            if not on.any():
                continue
            tile = self.counter.counts(q0, q1, r0, r1, bufs)
            width = r1 - r0
            stats["pairs"] += nb * width
            if qpos is not None:
                inside = np.flatnonzero((qpos >= r0) & (qpos < r1))
                tile[inside, qpos[inside] - r0] = 0
            if not seeded:
                seeded = True
                # seed: the k largest bounds of each row, scored exactly, give real
                # k-th similarities, hence thresholds, even at min_similarity = 0
                span = min(width, _SEED_SPAN)
                kk = min(_SEED_FACTOR * k, span)
                if kk < span:
                    cols = np.argpartition(tile[:, :span], span - kk, axis=1)[:, span - kk:]
                else:
                    cols = np.broadcast_to(np.arange(span), (nb, span))
                ii = np.repeat(np.arange(nb), kk)
                jj = cols.reshape(-1).astype(np.int64)
                cand = self._score(tile, q0, r0, ii, jj, t, a_blk, width, check=False)
                tile[ii, jj] = 0  # scored: not candidates again
                if cand is not None:
                    _merge(ps, pr, t, *cand)
                on &= best >= t
                if not on.any():
                    continue
            theta = np.ceil(t * (a_blk + lo) / (1.0 + t) - 1e-9)
            theta = self.counter.encode(
                np.where(on, np.maximum(theta, 1), 1 << 30).astype(np.int64)
            )
            flat = np.flatnonzero(tile >= theta[:, None])
            if len(flat) == 0:
                continue
            ii, jj = np.divmod(flat, width)
            stats["candidates"] += len(ii)
            cand = self._score(tile, q0, r0, ii, jj, t, a_blk, width, check=True)
            if cand is None:
                continue
            pending.append(cand)
            n_pending += len(cand[0])
            if n_pending >= nb:  # merge in batches: thresholds rise, sorts stay few
                _merge(ps, pr, t, *(np.concatenate(x) for x in zip(*pending, strict=True)))
                pending, n_pending = [], 0
        if pending:
            _merge(ps, pr, t, *(np.concatenate(x) for x in zip(*pending, strict=True)))

    def _score(self, tile, q0, r0, ii, jj, t, a_blk, width, check):
        """Exact similarities of candidate pairs; keep those >= the row threshold."""
        ai = a_blk[ii]
        bj = self.b[r0 + jj]
        ti = t[ii]
        raw = tile.reshape(-1)[ii * width + jj]
        if self.counter.exact:
            c = self.counter.decode(raw)
        else:
            if check:  # the bound with the pair's own popcount
                ub = self.counter.upper(raw)
                ok = (ub >= 1) & (ub * (1.0 + ti) >= ti * (ai + bj) - 1e-9)
                ii, jj, ai, bj, ti = ii[ok], jj[ok], ai[ok], bj[ok], ti[ok]
            c = _common_bits(self.wq, self.wr, q0 + ii, r0 + jj)
        den = ai + bj - c
        s = np.divide(c, den, out=np.zeros_like(c), where=den > 0)
        ok = (s >= ti) & (c > 0)
        refs = self.r_index[r0 + jj]
        if self.exclude_self:
            ok &= refs != self.q_order[q0 + ii]
        if not ok.any():
            return None
        return ii[ok], refs[ok], s[ok]


def _merge(ps, pr, t, ii, refs, sims):
    """Merge candidates (row, ref, sim) into the sorted per-row pools; raise ``t``.

    The one top-k merge of the search, within a block and across reference shards:
    order by (-similarity, reference index), keep the first ``k`` of each row.
    """
    k = ps.shape[1]
    order = np.lexsort((refs, -sims, ii))
    ii, refs, sims = ii[order], refs[order], sims[order]
    rows, start, cnt = np.unique(ii, return_index=True, return_counts=True)
    rank = np.arange(len(ii)) - np.repeat(start, cnt)
    keep = rank < k
    m = int(min(cnt.max(), k))
    pos = np.repeat(np.arange(len(rows)), cnt)[keep]
    ns = np.full((len(rows), m), -1.0)
    nr = np.full((len(rows), m), _BIG_REF, dtype=np.int64)
    ns[pos, rank[keep]] = sims[keep]
    nr[pos, rank[keep]] = refs[keep]
    cs = np.concatenate([ps[rows], ns], axis=1)
    cr = np.concatenate([pr[rows], nr], axis=1)
    o = np.lexsort((cr, -cs), axis=1)[:, :k]
    ps[rows] = np.take_along_axis(cs, o, axis=1)
    pr[rows] = np.take_along_axis(cr, o, axis=1)
    kth = ps[rows, k - 1]
    t[rows] = np.where(kth >= 0, np.maximum(t[rows], kth), t[rows])


def _fill(ps, pr, q_index, n_r, exclude_self, rows=None):
    """min_similarity = 0: complete short rows with similarity-0 references.

    A row with fewer than ``k`` neighbours never had a threshold above 0 (in any
    reference shard), so every reference sharing a bit with it is in its pool; the
    others all have similarity 0 and come in reference index order. ``q_index``: the
    original query index of each row (for self-exclusion); ``rows``: only these rows.
    """
    k = ps.shape[1]
    cnt = (ps >= 0).sum(axis=1)
    short = cnt < k
    if rows is not None:
        short &= np.isin(np.arange(len(ps)), rows)
    for i in np.flatnonzero(short):
        have = pr[i, : cnt[i]]
        if exclude_self:
            have = np.append(have, q_index[i])
        need = k - cnt[i]
        pool = np.setdiff1d(np.arange(min(n_r, need + len(have))), have)[:need]
        ps[i, cnt[i] : cnt[i] + len(pool)] = 0.0
        pr[i, cnt[i] : cnt[i] + len(pool)] = pool


def _search(q_fps, r_fps, *, same, k, min_similarity, exclude_self, backend, block_size,
            n_jobs, show_progress, info, checkpoint_dir=None, shard_size=None,
            ref_shard_size=None, query_shards=None):
    """Return the graph arrays ``(indptr, indices, similarities)`` in query order.

    Every query row keeps a pool of its ``k`` best (similarity, reference) so far, in
    two arrays of shape ``(n_query, k)`` (16 bytes per neighbour, the size of the
    result). References are searched in shards of ``ref_shard_size`` rows (one shard
    by default): each shard's search starts from the pools (and so the thresholds) left
    by the shards before it and merges into them with :func:`_merge`; since the merge
    keeps the first ``k`` of a total order, the result equals the unsharded search's.

    ``query_shards`` (for measurements, e.g. ``benchmarks/knn.py --million``): compute
    only these query shards (of ``shard_size`` rows of the popcount order); the other
    rows stay without neighbours. ``info["shard_seconds"]`` gets each shard's time.
    """
    n_q, n_r = len(q_fps), len(r_fps)
    threads = resolve_n_jobs(n_jobs)
    bq = block_size or (1024 if backend == "torch" else 256)
    rs = ref_shard_size if ref_shard_size and ref_shard_size < n_r else n_r
    ranges = [(s, min(n_r, s + rs)) for s in range(0, n_r, rs)]
    info["reference_shards"] = len(ranges)
    old_threads = None
    if backend == "torch":
        import torch

        old_threads = torch.get_num_threads()
        torch.set_num_threads(1)  # parallel over blocks instead
    try:
        t0 = time.perf_counter()
        qs = _Queries(q_fps)
        plan = None
        if backend == "torch":
            if same:
                r_order, b = qs.order, qs.a
            else:
                b_all = _popcount_rows(r_fps)
                r_order = np.argsort(b_all, kind="stable")
                b = b_all[r_order]
            plan = _plan(q_fps, r_fps, qs.order, r_order, qs.a, b, same, k, min_similarity,
                         info)
            del r_order, b
        info["setup_seconds"] = round(time.perf_counter() - t0, 3)
        blocks = [(s, min(n_q, s + bq)) for s in range(0, n_q, bq)]
        per = (max(1, -(-(shard_size or 65536) // bq))
               if checkpoint_dir is not None or query_shards is not None else None)
        shards = [blocks[i : i + per] for i in range(0, len(blocks), per)] if per else [blocks]
        ps = np.full((n_q, k), -1.0)  # pools in sorted query order
        pr = np.full((n_q, k), _BIG_REF, dtype=np.int64)
        done = np.zeros(len(shards), dtype=np.int64)  # reference shards merged, per shard
        wanted = np.ones(len(shards), dtype=bool)
        if query_shards is not None:
            wanted[:] = False
            wanted[np.asarray(query_shards, dtype=np.int64)] = True
        shard_seconds: dict = {}
        store = None
        if checkpoint_dir is not None:
            store = _ShardStore(checkpoint_dir, q_fps, r_fps, same, k, min_similarity,
                                exclude_self, per * bq, rs)
            for si, shard in enumerate(shards):
                lo, hi = shard[0][0], shard[-1][1]
                done[si] = store.load(si, ps[lo:hi], pr[lo:hi], len(ranges))
            store.warn_unreadable()
        stats = {"pairs": 0, "candidates": 0}
        rows_of = [shard[-1][1] - shard[0][0] for shard in shards]
        bar = _progress(int(np.dot(wanted, rows_of)) * len(ranges), show_progress, unit="row")
        try:
            if bar is not None and done.any():
                bar.update(int(np.dot(done * wanted, rows_of)))
                bar.set_postfix_str("resumed shards", refresh=False)
            with ThreadPoolExecutor(max_workers=threads) as pool:
                for ri, (r0, r1) in enumerate(ranges):
                    todo = np.flatnonzero((done == ri) & wanted)
                    if len(todo) == 0:
                        continue
                    t1 = time.perf_counter()
                    sharded = len(ranges) > 1
                    engine = _Engine(qs, r_fps[r0:r1] if sharded else r_fps, r0,
                                     same and not sharded, k, min_similarity, exclude_self,
                                     backend, plan, info)
                    info["setup_seconds"] = round(info["setup_seconds"] + time.perf_counter() - t1, 3)
                    if bar is not None and sharded:
                        bar.set_postfix_str(f"reference shard {ri + 1}/{len(ranges)}",
                                            refresh=False)
                    for si in todo:
                        shard = shards[si]
                        t1 = time.perf_counter()
                        thread_stats = [{"pairs": 0, "candidates": 0} for _ in shard]
                        futures = [pool.submit(engine.block, s, e, st, ps[s:e], pr[s:e])
                                   for (s, e), st in zip(shard, thread_stats, strict=True)]
                        for (s, e), fut in zip(shard, futures, strict=True):
                            fut.result()
                            if bar is not None:
                                bar.update(e - s)
                        for st in thread_stats:
                            for key in stats:
                                stats[key] += st[key]
                        done[si] = ri + 1
                        shard_seconds[int(si)] = round(
                            shard_seconds.get(int(si), 0.0) + time.perf_counter() - t1, 3)
                        if store is not None:
                            lo, hi = shard[0][0], shard[-1][1]
                            store.save(si, ps[lo:hi], pr[lo:hi], ri + 1)
                    del engine
        finally:
            if bar is not None:
                bar.close()
        info["pairs_bounded"] = int(stats["pairs"])
        if query_shards is not None:
            info["shard_seconds"] = shard_seconds
        info["pairs_scored"] = int(stats["candidates"])
        if store is not None:
            info["checkpoint_dir"] = str(store.folder)
    finally:
        if old_threads is not None:
            torch.set_num_threads(old_threads)
    if min_similarity == 0.0:
        rows = None if wanted.all() else np.concatenate(
            [np.arange(shards[i][0][0], shards[i][-1][1]) for i in np.flatnonzero(wanted)])
        _fill(ps, pr, qs.order, n_r, exclude_self, rows)
    return _finish(ps, pr, qs.order)


def _finish(ps, pr, q_order, step=65536):
    """Graph arrays in query order from the pools (sorted query order), in row chunks.

    Each pool row is sorted by (-similarity, reference index) with its empty places
    last, so a row-major mask keeps every row's order. Peak memory: the pools plus
    the result (both ``16 bytes x k`` per query) plus one chunk.
    """
    n_q = len(q_order)
    counts = np.empty(n_q, dtype=np.int64)
    counts[q_order] = (ps >= 0).sum(axis=1)
    indptr = np.zeros(n_q + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int64)
    sims = np.empty(indptr[-1], dtype=np.float64)
    inv = np.empty(n_q, dtype=np.int64)
    inv[q_order] = np.arange(n_q)
    for s in range(0, n_q, step):
        e = min(n_q, s + step)
        rows = inv[s:e]
        sub = ps[rows]
        keep = sub >= 0
        sims[indptr[s] : indptr[e]] = sub[keep]
        indices[indptr[s] : indptr[e]] = pr[rows][keep]
    return indptr, indices, sims


class _ShardStore:
    """Resumable shards of a search: ``manifest.json`` + ``shard-NNNNN.npz`` files.

    A shard file holds the pools of one group of query rows (sorted query order)
    after ``ref_done`` reference shards; it is rewritten atomically after each.
    """

    def __init__(self, folder, q_fps, r_fps, same, k, min_similarity, exclude_self, rows,
                 ref_rows):
        self.folder = Path(folder)
        self.unreadable: list[str] = []
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(q_fps).tobytes())
        qh = h.hexdigest()
        rh = qh if same else hashlib.sha256(np.ascontiguousarray(r_fps).tobytes()).hexdigest()
        self.manifest = {
            "version": _CHECKPOINT_VERSION, "n_query": len(q_fps), "n_reference": len(r_fps),
            "n_bits": int(q_fps.shape[1] * 8), "query_sha256": qh, "reference_sha256": rh,
            "k": int(k), "min_similarity": float(min_similarity),
            "exclude_self": bool(exclude_self), "shard_rows": int(rows),
            "reference_shard_rows": int(ref_rows),
        }
        path = self.folder / "manifest.json"
        if path.is_file():
            try:
                old = json.loads(path.read_text())
            except (OSError, ValueError):
                old = None
            if old != self.manifest:
                diff = "unreadable manifest" if not isinstance(old, dict) else ", ".join(
                    key for key in self.manifest if old.get(key) != self.manifest[key]
                )
                raise InvalidParameterError(
                    f"checkpoint folder {str(self.folder)!r} holds shards of another search "
                    f"(differs in: {diff}); pass an empty folder or the same inputs and "
                    "parameters."
                )
        else:
            from ..utils import atomic_write_text

            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(self.manifest, sort_keys=True, indent=1))

    def _path(self, i: int) -> Path:
        return self.folder / f"shard-{i:05d}.npz"

    def warn_unreadable(self) -> None:
        """One warning for all the shard files :meth:`load` could not read."""
        if self.unreadable:
            n = len(self.unreadable)
            warnings.warn(
                f"checkpoint folder {str(self.folder)!r}: {n} shard file{'s' * (n != 1)} "
                f"unreadable, recomputed and overwritten: {'; '.join(self.unreadable[:3])}"
                + (f" and {n - 3} more" if n > 3 else "") + ".",
                CliffkitWarning, stacklevel=user_stacklevel(),
            )

    def save(self, i: int, ps: np.ndarray, pr: np.ndarray, ref_done: int) -> None:
        from ..utils import atomic_write

        with atomic_write(self._path(i), "wb") as fh:
            np.savez(fh, sims=ps, refs=pr, ref_done=np.int64(ref_done))

    def load(self, i: int, ps: np.ndarray, pr: np.ndarray, n_ref_shards: int) -> int:
        """Fill ``ps``/``pr`` from shard ``i``; return its reference shards done (0: none).

        An unreadable shard counts as not started (0): it is recomputed and overwritten
        atomically; :meth:`warn_unreadable` then names it.
        """
        path = self._path(i)
        if not path.is_file():
            return 0
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
                sims, refs, ref_done = z["sims"], z["refs"], int(z["ref_done"])
            if sims.shape != ps.shape or refs.shape != pr.shape or not (
                    0 < ref_done <= n_ref_shards):
                raise ValueError(f"holds {sims.shape} pools after {ref_done} reference "
                                 f"shards, expected {ps.shape} and 1 to {n_ref_shards}")
        except Exception as exc:  # truncated (BadZipFile) or damaged: recompute it
            self.unreadable.append(f"{path.name} ({type(exc).__name__}: "
                                   f"{one_line(exc, 120)})")
            return 0
        ps[:] = sims
        pr[:] = refs
        return ref_done


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
