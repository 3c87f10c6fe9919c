"""PNG plots for the bench report (matplotlib, no pyplot: no global backend state)."""

from __future__ import annotations

import io
import math

import numpy as np

from ..similarity import MIN_SIMILARITY

__all__ = [
    "plot_error_vs_similarity",
    "plot_gap_by_loss",
    "plot_lambda_trajectories",
    "plot_pair_differences",
    "plot_strata_mae",
]

_COLORS = {"cliff": "#c0392b", "smooth": "#2e86c1", "unsupported": "#7f8c8d",
           "intermediate": "#d4ac0d", "matched_smooth": "#5dade2"}


_LOSS_COLORS = {"plain": "#1f77b4", "cliff": "#ff7f0e", "cliff-adaptive": "#2ca02c",
                "cliff-pair": "#9467bd", "random-weights": "#8c564b", "lds": "#e377c2"}


def _whiskers(std):
    """Error bars of one std over seeds; none at all where there is one seed (no std)."""
    return None if not np.isfinite(std).any() else np.nan_to_num(std, nan=0.0)


def _loss_sorted(losses) -> list[str]:
    """The report's one loss order (plain, the CliffLoss variants, then the rest)."""
    from ._bench_report import _loss_order

    return sorted(losses, key=_loss_order)


def _figure(n_panels: int, ncols: int = 3, size=(4.2, 3.3)):
    from matplotlib.figure import Figure

    ncols = max(1, min(ncols, n_panels))
    nrows = max(1, math.ceil(n_panels / ncols))
    # constrained layout keeps the figure-level legend (below the panels) off the data
    fig = Figure(figsize=(max(size[0] * ncols, 5.0), size[1] * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _panel_title(dataset: str, target: str) -> str:
    from ._bench_report import _dataset_label

    dataset = _dataset_label(dataset)
    return dataset if target in (None, "", dataset, "y") else f"{dataset} / {target}"


def _unit(frame) -> str:
    """The target unit of a panel's rows (column ``unit``), or '' when unknown."""
    if "unit" in frame and frame["unit"].notna().any():
        values = [str(u) for u in frame["unit"].dropna().unique() if str(u)]
        return values[0] if len(values) == 1 else ""
    return ""


def _with_unit(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else f"{label} (target units)"


def _legend(fig, axes, title: str) -> None:
    """One legend for the figure, below the panels (never over data), entries in order
    of first appearance and only for drawn artists."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels and not lab.startswith("_"):
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, title=title, loc="outside lower center",
                   ncols=max(1, min(len(labels), int(fig.get_figwidth() / 1.9))), fontsize=8, title_fontsize=8, frameon=False)


def plot_strata_mae(table, strata=("cliff", "smooth", "unsupported")) -> bytes:
    """Grouped bars: mean MAE (± std over seeds) per stratum and backbone, one panel per task.

    ``table`` holds one row per cell with ``dataset, target, backbone`` and ``<stratum>_mae``.
    """
    panels = list(table.groupby(["dataset", "target"], sort=True))
    fig, axes = _figure(len(panels))
    for ax, ((ds, tg), sub) in zip(axes, panels, strict=False):
        # only strata with a value: no empty legend entries, no gaps between bars
        drawn = [s for s in strata
                 if f"{s}_mae" in sub and np.isfinite(sub[f"{s}_mae"].to_numpy(float)).any()]
        _backbone_bars(ax, sub, [(s, sub, f"{s}_mae", _COLORS.get(s)) for s in drawn])
        ax.set_ylabel(_with_unit("MAE", _unit(sub)))
        ax.set_title(_panel_title(ds, tg), fontsize=10)
    _legend(fig, axes, "test stratum")
    return _png(fig)


def _backbone_bars(ax, sub, bars) -> None:
    """Grouped bars on ``ax``: one group per backbone of ``sub``, one bar per entry of
    ``bars`` = ``[(label, rows, column, color)]``, the mean of ``column`` over ``rows``
    with one standard deviation over seeds as whiskers (none with one seed)."""
    backbones = sorted(sub["backbone"].unique())
    x = np.arange(len(backbones))
    width = 0.8 / max(1, len(bars))
    for j, (label, rows, column, color) in enumerate(bars):
        g = rows.groupby("backbone")[column]
        mean = g.mean().reindex(backbones).to_numpy(dtype=float)
        std = g.std(ddof=1).reindex(backbones).to_numpy(dtype=float)  # NaN: one seed
        ax.bar(x + (j - (len(bars) - 1) / 2) * width, mean, width, yerr=_whiskers(std),
               label=label, color=color, capsize=2)
    ax.set_xticks(x, backbones)
    ax.set_xlim(-0.6, len(backbones) - 0.4)
    ax.set_xlabel("backbone")


def plot_error_vs_similarity(preds, bins=(0.0, MIN_SIMILARITY, 0.45, 0.55, 0.65, 0.75, 0.85, 1.0001)) -> bytes:
    """Mean |error| against the max Tanimoto similarity to train, one line per backbone.

    ``preds`` holds one row per test molecule with ``dataset, target, backbone,
    max_similarity, y_true, y_pred`` and optionally ``y_ref`` (reference predictor).
    """
    panels = list(preds.groupby(["dataset", "target"], sort=True))
    fig, axes = _figure(len(panels))
    edges = np.asarray(bins, dtype=float)
    centers = (edges[:-1] + np.minimum(edges[1:], 1.0)) / 2
    for ax, ((ds, tg), sub) in zip(axes, panels, strict=False):
        sim = sub["max_similarity"].to_numpy(dtype=float)
        which = np.clip(np.digitize(sim, edges) - 1, 0, len(centers) - 1)
        counts = np.zeros(len(centers), dtype=int)
        for bb, g in sub.groupby("backbone", sort=True):
            err = np.abs(g["y_pred"].to_numpy(float) - g["y_true"].to_numpy(float))
            idx = which[sub.index.get_indexer(g.index)]
            counts = np.maximum(counts, np.bincount(idx, minlength=len(centers)))
            means = [err[idx == b].mean() if np.any(idx == b) else np.nan for b in range(len(centers))]
            ax.plot(centers, means, marker="o", label=bb)
        if "y_ref" in sub and sub["y_ref"].notna().any():
            err = np.abs(sub["y_ref"].to_numpy(float) - sub["y_true"].to_numpy(float))
            means = [np.nanmean(err[which == b]) if np.any((which == b) & np.isfinite(err)) else np.nan
                     for b in range(len(centers))]
            # markers too: a bin between two empty ones is otherwise a line of length 0
            ax.plot(centers, means, ls="--", color="k", marker="x", label="reference predictor")
        ax.axvline(MIN_SIMILARITY, color="grey", lw=0.8, ls=":",
                   label=f"support threshold ({MIN_SIMILARITY:g})")
        ax.set_xlabel("max Tanimoto similarity to train (ECFP4)")
        ax.set_ylabel(_with_unit("mean |error|", _unit(sub)))
        ax.set_xlim(min(0.3, float(np.nanmin(sim)) - 0.05) if sim.size else 0.3, 1.0)
        # test molecules per bin (seeds pooled, per backbone) on a top axis
        top = ax.secondary_xaxis("top")
        shown = counts > 0
        top.set_xticks(centers[shown], [str(c) for c in counts[shown]], fontsize=7)
        top.set_xlabel("test molecules per bin (seeds pooled, per backbone)", fontsize=7)
        ax.set_title(_panel_title(ds, tg), fontsize=10)
    _legend(fig, axes, "backbone")
    return _png(fig)


def plot_gap_by_loss(table) -> bytes:
    """Cliff-smooth gap (mean ± std over seeds) per backbone, one bar per loss."""
    panels = list(table.groupby(["dataset", "target"], sort=True))
    fig, axes = _figure(len(panels))
    for ax, ((ds, tg), sub) in zip(axes, panels, strict=False):
        losses = _loss_sorted(sub["loss"].unique())
        losses = [lo for lo in losses
                  if np.isfinite(sub.loc[sub["loss"] == lo, "gap"].to_numpy(float)).any()]
        _backbone_bars(ax, sub, [(lo, sub[sub["loss"] == lo], "gap", _LOSS_COLORS.get(lo))
                                 for lo in losses])
        ax.axhline(0, color="k", lw=0.6)
        ax.set_ylabel(_with_unit("MAE(cliff) − MAE(smooth)", _unit(sub)))
        ax.set_title(_panel_title(ds, tg), fontsize=10)
    _legend(fig, axes, "training loss")
    return _png(fig)


def plot_lambda_trajectories(table) -> bytes:
    """λ against epoch (or boosting block), one line per cell, one panel per backbone."""
    panels = list(table.groupby("backbone", sort=True))
    fig, axes = _figure(len(panels))
    for ax, (bb, sub) in zip(axes, panels, strict=False):
        for rec in sub.itertuples(index=False):
            traj = np.asarray(rec.lambda_trajectory, dtype=float)
            split = getattr(rec, "split", "")
            label = f"{_panel_title(rec.dataset, rec.target)} {split} s{rec.seed}"
            ax.plot(np.arange(1, len(traj) + 1), traj, marker=".", label=label)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch / round block")
        ax.set_ylabel("λ (CliffLoss weight, unitless)")
        ax.set_title(bb, fontsize=10)
        if len(sub) <= 8:
            # below the axes, so that it never covers a trajectory
            ax.legend(fontsize=7, title="task, split, seed", title_fontsize=7,
                      loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False)
    return _png(fig)


def plot_pair_differences(preds) -> bytes:
    """Predicted against true difference to the cliff partner, for cliff test cases.

    The true difference is ``y_true - partner_y_true``; the predicted one is
    ``y_pred - partner_y_pred`` (the model's own prediction for the training partner)
    where the predictions hold it, else ``y_pred - partner_y_true``.
    One panel per backbone; colour by loss.
    """
    own = "partner_y_pred" in preds and bool(preds["partner_y_pred"].notna().all())
    partner_col = "partner_y_pred" if own else "partner_y_true"
    panels = list(preds.groupby(["dataset", "target", "backbone"], sort=True))
    fig, axes = _figure(len(panels), size=(3.8, 3.6))
    for ax, ((ds, tg, bb), sub) in zip(axes, panels, strict=False):
        lims = []
        for lo in _loss_sorted(sub["loss"].unique()):
            g = sub[sub["loss"] == lo]
            true_d = g["y_true"].to_numpy(float) - g["partner_y_true"].to_numpy(float)
            pred_d = g["y_pred"].to_numpy(float) - g[partner_col].to_numpy(float)
            ax.scatter(true_d, pred_d, s=8, alpha=0.5, label=lo, color=_LOSS_COLORS.get(lo))
            lims += [np.nanmin(true_d), np.nanmax(true_d), np.nanmin(pred_d), np.nanmax(pred_d)]
        if lims:
            lo_, hi_ = float(np.nanmin(lims)), float(np.nanmax(lims))
            ax.plot([lo_, hi_], [lo_, hi_], color="k", lw=0.8)
        unit = _unit(sub)
        ax.set_xlabel(_with_unit("true difference y_i − y_partner", unit))
        ax.set_ylabel(_with_unit("predicted ŷ_i − ŷ_partner" if own
                                 else "predicted ŷ_i − y_partner", unit))
        ax.set_title(f"{_panel_title(ds, tg)} / {bb}", fontsize=9)
    _legend(fig, axes, "training loss")
    return _png(fig)
