"""The MoleculeACE section of a bench report: MoleculeACE's metrics beside ours, per set,
with the published ECFP baselines of the MoleculeACE paper for reference.

MoleculeACE (van Tilborg, Alenicheva & Grisoni, J. Chem. Inf. Model. 62, 5938 (2022))
scores a model by the RMSE over its test set and the RMSE over the test molecules with
``cliff_mol == 1``. The published per-set numbers of its ECFP models are shipped in
``report/files/moleculeace_published_ecfp.csv``, transcribed from the MoleculeACE repository
(github.com/molML/MoleculeACE, ``MoleculeACE/Data/results/MoleculeACE_results.csv`` at commit
27f26ebae652e5f4101218ac7a27b25558d2db33; rows with ``descriptor == "ECFP"``).
"""

from __future__ import annotations

import importlib.resources
from typing import Any

import numpy as np

from ._report import Report

__all__ = ["PUBLISHED_SOURCE", "published_moleculeace", "moleculeace_section", "PUBLISHED_NAME"]

PUBLISHED_SOURCE = ("github.com/molML/MoleculeACE, MoleculeACE/Data/results/MoleculeACE_results.csv "
                    "@ 27f26ebae652e5f4101218ac7a27b25558d2db33 (ECFP rows)")

#: Our backbone -> the published MoleculeACE model it is compared with.
PUBLISHED_NAME = {"svm": "SVM", "lgbm": "GBM", "mlp": "MLP"}


def published_moleculeace() -> Any:
    """The published per-set RMSE and cliff RMSE of MoleculeACE's ECFP models.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset`` (e.g. ``CHEMBL234_Ki``), ``algorithm`` (SVM, GBM, RF, KNN, MLP),
        ``descriptor`` (ECFP), ``augmentation``, ``rmse``, ``cliff_rmse``; 150 rows (30 sets).
        Source: :data:`PUBLISHED_SOURCE`.

    Examples
    --------
    >>> t = published_moleculeace()
    >>> len(t), sorted(t["algorithm"].unique())
    (150, ['GBM', 'KNN', 'MLP', 'RF', 'SVM'])
    """
    import pandas as pd

    path = importlib.resources.files("cliffkit.report") / "files" / "moleculeace_published_ecfp.csv"
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def _set_name(dataset: str) -> str:
    return str(dataset).split(":", 1)[1] if str(dataset).startswith("moleculeace:") else str(dataset)


def _f(v: float, digits: int = 3) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _mean(sub, col: str) -> float:
    if col not in sub:
        return float("nan")
    arr = np.asarray(sub[col], dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def moleculeace_section(report: Report, ok) -> None:
    """Add the "MoleculeACE" section for the finished cells ``ok`` that carry MoleculeACE
    metrics (``moleculeace_rmse``); nothing when there are none."""
    if "moleculeace_rmse" not in ok or not ok["moleculeace_rmse"].notna().any():
        return
    mace = ok[ok["moleculeace_rmse"].notna()].copy()
    mace["set"] = [_set_name(d) for d in mace["dataset"]]
    pub = published_moleculeace()
    pub_idx = {(r.dataset, r.algorithm): (r.rmse, r.cliff_rmse) for r in pub.itertuples()}
    with report.section("MoleculeACE"):
        report.add_message(
            "MoleculeACE's metrics (RMSE over the test set; cliff RMSE over its cliff_mol == 1 "
            "molecules) on MoleculeACE's own split, beside ours on the same test set (MAE of the "
            "cliff and smooth strata, labelled against the training set as in CliffSplit). "
            f"Published: the MoleculeACE paper's ECFP models ({PUBLISHED_SOURCE}); our svm is "
            "compared with their SVM, lgbm with GBM, mlp with MLP. Our models hold out 10% of the "
            "training set for validation (early stopping, the SVM's C); MoleculeACE trained its "
            "classical models on the whole training set with cross-validated hyperparameters.",
            level="note",
        )
        plain = mace[mace["loss"] == "plain"]
        rows = []
        avg: dict[str, list] = {}
        for (st, bb), sub in sorted(plain.groupby(["set", "backbone"]), key=lambda kv: kv[0]):
            pr, pc = pub_idx.get((st, PUBLISHED_NAME.get(bb, "")), (np.nan, np.nan))
            vals = [_mean(sub, "moleculeace_rmse"), pr, _mean(sub, "moleculeace_cliff_rmse"), pc,
                    _mean(sub, "cliff_mae"), _mean(sub, "smooth_mae")]
            avg.setdefault(bb, []).append(vals)
            rows.append([st, bb, len(sub), _f(_mean(sub, "moleculeace_n"), 0),
                         _f(_mean(sub, "moleculeace_n_cliff"), 0), *(_f(v) for v in vals)])
        for bb, vals in sorted(avg.items()):
            arr = np.asarray(vals, dtype=float)
            means = [float(np.nanmean(c)) if np.isfinite(c).any() else float("nan") for c in arr.T]
            rows.append([f"average ({len(vals)} set{'s' if len(vals) != 1 else ''})", bb, "", "", "", *(_f(v) for v in means)])
        report.add_table(
            rows, "MoleculeACE per set (plain loss; mean over seeds)",
            columns=["set", "backbone", "seeds", "n test", "n cliff_mol", "RMSE", "published RMSE",
                     "cliff RMSE", "published cliff RMSE", "MAE cliff (ours)", "MAE smooth (ours)"],
            note="Published columns: the MoleculeACE model matching the backbone (svm: SVM, "
                 "lgbm: GBM, mlp: MLP); averages are over the sets listed.",
        )
        rows = []
        for (bb, lo), sub in sorted(mace.groupby(["backbone", "loss"]),
                                    key=lambda kv: (kv[0][0], kv[0][1] != "plain", kv[0][1])):
            base = mace[(mace["backbone"] == bb) & (mace["loss"] == "plain")]
            merged = sub.merge(base, on=["set", "seed"], suffixes=("", "_plain"))
            d = np.asarray(merged["moleculeace_cliff_rmse"], float) - \
                np.asarray(merged["moleculeace_cliff_rmse_plain"], float)
            d = d[np.isfinite(d)]
            change = "" if lo == "plain" or d.size == 0 else \
                f"{d.mean():+.3f} ({int((d < 0).sum())}/{d.size} lower)"
            rows.append([bb, lo, sub["set"].nunique(), len(sub),
                         _f(_mean(sub, "moleculeace_rmse")), _f(_mean(sub, "moleculeace_cliff_rmse")),
                         change, _f(_mean(sub, "cliff_mae")), _f(_mean(sub, "smooth_mae")),
                         _f(_mean(sub, "gap"))])
        report.add_table(
            rows, "MoleculeACE: losses compared (mean over sets and seeds)",
            columns=["backbone", "loss", "sets", "cells", "RMSE", "cliff RMSE",
                     "cliff RMSE − plain (paired)", "MAE cliff", "MAE smooth", "gap"],
            note="Paired: the same set and seed with the plain loss; 'lower' counts the pairs "
                 "where the loss lowered MoleculeACE's cliff RMSE.",
        )
