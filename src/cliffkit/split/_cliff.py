"""CliffSplit: locally supported, cliff-exposed test and validation sets."""

from __future__ import annotations

from dataclasses import KW_ONLY

import numpy as np

from ..cliffs import assign_strata, compute_severity
from ..errors import InsufficientSupportError, InvalidParameterError
from ..utils import Interval, Options, params_class
from ._base import (
    COMMON_CONSTRAINTS,
    FLAT_REASON,
    BaseSplitter,
    HeldOutSizes,
    flat_targets,
    register_splitter,
)
from ._graph import restrict_rows
from ._label import train_graphs
from ._select import SupportState, select_heldout, top_contributors

__all__ = ["CliffSplit"]

#: Achieved cliff shares further than this below the request raise a SplitWarning.
SHARE_TOLERANCE = 0.05



@params_class
class _CliffSizes(HeldOutSizes):
    """The sizes of a CliffSplit: ``test_size``, ``val_size`` and ``cliff_share``."""

    cliff_share: float = 0.5


@register_splitter("cliff")
@params_class
class CliffSplit(BaseSplitter, _CliffSizes):
    """Cliff-aware split: every held-out molecule keeps training support; cliffs are enriched.

    1. One exact neighbour search over all molecules (ECFP ``radius``/``n_bits``, Tanimoto,
       top ``2k`` with similarity >= ``min_similarity``).
    2. Provisional severities on that graph (top ``k``) flag candidate cliff cases per
       target (above the ``cliff_quantile`` of supported severities).
    3. Test molecules are chosen greedily in a seeded order: ``cliff_share`` of them from the
       cliff candidates (round-robin over targets, so each contributes equally), the rest from
       supported non-cliff molecules. A molecule is taken only if it keeps a training
       neighbour and no molecule already held out loses its last one; the ``m`` neighbours
       behind a chosen cliff case's severity are locked in training.
    4. The validation set is built the same way from what remains. With ``calibrate``, the
       held-out set is relabelled against the resulting training set, the quota of cliff
       picks is re-solved from the observed rates, and steps 3–4 run once more.
    5. Strata, partners and matched controls are computed against the final training set
       only (see :func:`~cliffkit.split.SplitResult`).

    Parameters
    ----------
    test_size, val_size : float, default=0.1
        Fractions of all molecules (rounded up).
    cliff_share : float in [0, 1], default=0.5
        Requested share of cliff cases among the held-out molecules. The achieved share is
        reported in ``SplitResult.cliff_share`` and a :class:`~cliffkit.errors.SplitWarning`
        is raised when it falls short by more than 0.05.
    k : int, optional
        Neighbours per molecule; default ``max(4, min(24, floor(sqrt(n_train))))``.
    min_similarity : float, default=0.35
        Support threshold τ_s on Tanimoto similarity.
    radius, n_bits : int, default=2 and 2048
        Morgan fingerprint (ECFP4).
    cliff_quantile, smooth_quantile : float, default=0.8 and 0.5
        Stratum thresholds on the supported training severities.
    delta : float, optional
        Cliff threshold in target units instead of quantiles (see
        :func:`~cliffkit.cliffs.assign_strata`).
    targets : str or list of str, optional
        Targets to use (default: all). Each is labelled; cliff candidates are balanced
        over them.
    random_state : int, optional, default=0
        Seeds the visiting order (and the matching order).
    balance : {"targets", "first"}, default="targets"
        Multi-target data: draw cliff candidates round-robin over all targets, or only from
        the first one. ``cliff_target`` names one target instead.
    search_factor : float, default=2.0
        The single search keeps ``search_factor * k`` neighbours per molecule; rows that
        could miss a training neighbour after the split are searched again, exactly.
    lock_partners : bool, default=True
        Keep the ``m`` neighbours behind a chosen cliff case's severity in training.
    calibrate : bool, default=True
        Relabel once against the final training set and choose the cliff quota again so the
        expected share meets the request (cases cross the threshold when molecules move).
    n_jobs : int, optional
        Processes for fingerprints.
    show_progress : bool, default=False

    Examples
    --------
    >>> from cliffkit.split import CliffSplit
    >>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "CCN", "CCCN", "CCCCN", "CCCCCN",
    ...           "c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "c1ccccc1CC"]
    >>> y = [0.1, 0.2, 0.3, 2.0, 1.0, 1.1, 1.2, 1.3, 3.0, 0.5, 3.1, 3.2]
    >>> splitter = CliffSplit(test_size=0.25, val_size=0.0, min_similarity=0.2, random_state=0)
    >>> train, test = next(splitter.split(smiles, y))
    >>> len(train), len(test)
    (9, 3)
    >>> splitter
    CliffSplit(test_size=0.25, val_size=0.0, min_similarity=0.2)
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "cliff_share": [Interval(float, 0, 1)],
        "search_factor": [Interval(float, 1, None, closed="left")],
        "cliff_target": [None, str],
        "lock_partners": ["boolean"],
        "balance": [Options("targets", "first")],
        "calibrate": ["boolean"],
    }

    _: KW_ONLY
    balance: str = "targets"
    search_factor: float = 2.0
    lock_partners: bool = True
    calibrate: bool = True
    cliff_target: str | None = None
    n_jobs: int | None = None
    show_progress: bool = False

    def _assign(self, ctx: dict):
        from ..similarity import find_neighbors

        y, names, fps, k, n = ctx["y"], ctx["names"], ctx["fps"], ctx["k"], ctx["n"]
        if y is None:
            raise InvalidParameterError(
                "CliffSplit needs targets: pass y with SMILES, or a Dataset."
            )
        search_k = int(min(n - 1, max(k, round(self.search_factor * k))))
        graph = find_neighbors(fps, k=search_k, min_similarity=self.min_similarity,
                               n_jobs=self.n_jobs, show_progress=self.show_progress)
        every = np.arange(n, dtype=np.int64)
        g_k, _ = restrict_rows(graph, every, every, k)
        if not (g_k.degree() > 0).any():
            raise InsufficientSupportError(
                f"No molecule has a neighbour with Tanimoto similarity >= {self.min_similarity}; "
                "CliffSplit cannot build supported test cases. Lower min_similarity."
            )
        # driving targets for the cliff quota
        if self.cliff_target is not None:
            if self.cliff_target not in names:
                from ..errors import unknown_name

                raise unknown_name("cliff_target", self.cliff_target, names)
            drive = [names.index(self.cliff_target)]
        elif self.balance == "first":
            drive = [0]
        else:
            drive = list(range(len(names)))
        rng = ctx["rng"]
        order = rng.permutation(n)
        supported = g_k.degree() > 0
        any_cliff = np.zeros(n, dtype=bool)
        pools, locks = [], []
        for t in drive:
            yt = y[:, t]
            has = np.isfinite(yt)
            if has.all():
                g_t, rows = g_k, every
            else:  # a target with missing values drives on its own molecules only
                rows = np.flatnonzero(has)
                pos = np.full(n, -1, dtype=np.int64)
                pos[rows] = np.arange(rows.size)
                g_t, _ = restrict_rows(graph, rows, pos, k)
            sev = compute_severity(g_t, yt[rows], delta=self.delta)
            st = assign_strata(sev, cliff_quantile=self.cliff_quantile,
                               smooth_quantile=self.smooth_quantile, delta=self.delta)
            flag = np.zeros(n, dtype=bool)
            flag[rows] = st.labels == "cliff"
            any_cliff |= flag
            pools.append(order[flag[order]])
            if self.lock_partners:
                lk = top_contributors(g_t, yt[rows], sev.m)
                if rows is not every:
                    full_lk = np.full((n, lk.shape[1]), -1, dtype=np.int64)
                    full_lk[rows] = np.where(lk >= 0, rows[np.maximum(lk, 0)], -1)
                    lk = full_lk
                locks.append(lk)
            else:
                locks.append(np.full((n, 1), -1, dtype=np.int64))
        rest = order[(supported & ~any_cliff)[order]]
        n_test, n_val = ctx["n_test"], ctx["n_val"]

        def choose(q_test: int, q_val: int):
            state = SupportState.from_graph(graph)
            test, fc_t = select_heldout(state, n_test, q_test, pools, rest, locks)
            val, fc_v = select_heldout(state, n_val, q_val, pools, rest, locks)
            return test, fc_t, val, fc_v

        q = [int(round(self.cliff_share * n_test)), int(round(self.cliff_share * n_val))]
        test, fc_t, val, fc_v = choose(*q)
        calibration = {"initial_quota": list(q)}
        if self.calibrate:
            # Relabelling against the final training set moves some cases across the cliff
            # threshold. Measure how often (c: cliff picks that stay cliff, p: other picks that
            # become cliff) and choose the quota once more so the expected share is the request.
            flags = self._final_flags(ctx, graph, search_k, drive, test, val)
            new_q = []
            for chosen, fc, n_sel, q0 in ((test, fc_t, n_test, q[0]), (val, fc_v, n_val, q[1])):
                c = float(flags[chosen[fc]].mean()) if fc.any() else 1.0
                p = float(flags[chosen[~fc]].mean()) if (~fc).any() else 0.0
                calibration.setdefault("stay_cliff", []).append(round(c, 4))
                calibration.setdefault("become_cliff", []).append(round(p, 4))
                if c - p > 0.05 and n_sel:
                    q1 = int(round(n_sel * (self.cliff_share - p) / (c - p)))
                    new_q.append(int(min(max(q1, 0), n_sel)))
                else:
                    new_q.append(q0)
            calibration["final_quota"] = list(new_q)
            if new_q != q:
                test, fc_t, val, fc_v = choose(*new_q)
        c_test, c_val = int(fc_t.sum()), int(fc_v.sum())
        held = np.zeros(n, dtype=bool)
        held[test] = True
        held[val] = True
        train = np.flatnonzero(~held)
        info = {
            "_graph": graph,
            "_search_k": search_k,
            "search_k": search_k,
            "provisional_cliff_candidates": int(any_cliff.sum()),
            # the full data's cliff molecules (severity on the all-molecule graph) that stay in
            # training: a mitigation trained on this split sees fewer cliffs than in deployment
            "train_cliff_depletion": {
                "full_data_cliff": int(any_cliff.sum()),
                "in_train": int(any_cliff[train].sum()),
                "share_in_train": (float(any_cliff[train].sum() / any_cliff.sum())
                                   if any_cliff.any() else None),
                "train_fraction": float(train.size / n) if n else None,
            },
            "provisional_cliff_test": int(c_test),
            "provisional_cliff_val": int(c_val),
            "calibration": calibration,
            "cliff_rule": (f"target:{self.cliff_target}" if self.cliff_target is not None
                           else "first" if self.balance == "first" else "balanced-over-targets"),
            "warnings": [],
        }
        return train, val, test, info

    def _final_flags(self, ctx, graph, search_k, drive, test, val) -> np.ndarray:
        """Cliff (for any driving target) of held-out molecules against the final train set."""
        n, y = ctx["n"], ctx["y"]
        held = np.zeros(n, dtype=bool)
        held[test] = True
        held[val] = True
        train, heldout = np.flatnonzero(~held), np.concatenate([test, val])
        g_tt, g_ht, _ = train_graphs(ctx["fps"], train, heldout, k=ctx["k"],
                                     min_similarity=self.min_similarity, full_graph=graph,
                                     search_k=search_k, n_jobs=self.n_jobs)
        flags = np.zeros(n, dtype=bool)
        for t in drive:
            yt = y[:, t]
            has = np.isfinite(yt)
            tr_t, ho_t, gtt, ght = train, heldout, g_tt, g_ht
            if not has.all():  # labelled on this target's own molecules
                tr_t, ho_t = train[has[train]], heldout[has[heldout]]
                gtt, ght, _ = train_graphs(ctx["fps"], tr_t, ho_t, k=ctx["k"],
                                           min_similarity=self.min_similarity, full_graph=graph,
                                           search_k=search_k, n_jobs=self.n_jobs)
            tr = compute_severity(gtt, yt[tr_t])
            ho = compute_severity(ght, yt[ho_t], yt[tr_t], m=tr.m, scale=tr.scale,
                                  delta=self.delta)
            st = assign_strata(ho, tr, cliff_quantile=self.cliff_quantile,
                               smooth_quantile=self.smooth_quantile, delta=self.delta)
            flags[ho_t] |= st.labels == "cliff"
        return flags

    def _warn(self, res, n_val, n_test):
        msgs = res.info.setdefault("warnings", [])
        if res.val.size < n_val:
            msgs.append(
                f"CliffSplit found only {res.val.size} of the {n_val} requested validation molecules "
                f"with training support; lower min_similarity or val_size."
            )
        flat = flat_targets(res)
        for sub in ("test", "val"):
            got = res.cliff_share.get(f"{sub}_any")
            if not (getattr(res, sub).size and got is not None and np.isfinite(got)):
                continue
            if got < self.cliff_share - SHARE_TOLERANCE and len(flat) == len(res.target_names):
                msgs.append(
                    f"CliffSplit reached a {sub} cliff share of {got:.3f} instead of the requested "
                    f"{self.cliff_share:.3f}: no molecule can be a cliff case, since for "
                    f"{', '.join(map(repr, flat))}, {FLAT_REASON}."
                )
            elif got < self.cliff_share - SHARE_TOLERANCE:
                msgs.append(
                    f"CliffSplit reached a {sub} cliff share of {got:.3f} (cliff for at least one "
                    f"target) instead of the requested {self.cliff_share:.3f}; the data holds too few "
                    "supported cliff cases at these thresholds (lower cliff_quantile, --cliff-quantile, to get more)."
                )
            elif got > self.cliff_share + SHARE_TOLERANCE:
                msgs.append(
                    f"CliffSplit reached a {sub} cliff share of {got:.3f} (cliff for at least one "
                    f"target) instead of the requested {self.cliff_share:.3f}: relabelling against "
                    "the final training set turned more held-out molecules into cliff cases than "
                    "expected (common on small data)."
                )
        super()._warn(res, n_val, n_test)
