"""A summary of a :class:`Dataset`: what was read, dropped and merged, and target statistics."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._dataset import Dataset

__all__ = ["describe_dataset"]


def describe_dataset(ds: Dataset, *, n_rows_shown: int = 5) -> dict[str, Any]:
    """Summarise ``ds`` as a JSON-ready dict.

    Parameters
    ----------
    ds : Dataset
    n_rows_shown : int
        How many row numbers to list per drop reason and conflicting merge.

    Returns
    -------
    dict
        ``name, source, source_sha256, n_read, dropped {reason: {count, first_rows}},
        n_dropped, n_masked, masked {target: {count, first_rows}} (cells without a value in
        rows kept for another target), n_merged_groups, n_merged_rows, n_conflicts, conflicts (first groups, each
        with its first rows and ``n_rows``), n_multi_fragment, standardize, row_word, n_final, targets
        [{name, unit, count, n_missing, n_masked_rows, mean, std, min, median, max}]``:
        ``count`` molecules have the target's value, ``n_missing`` do not (multi-target
        files); the statistics use the ``count`` values. ``std`` uses ``ddof=1`` (NaN for fewer than 2 values;
        the statistics of a target without values are NaN); row
        numbers are what ``row_word`` names: ``"line"``, 1-based file lines (header = line
        1), or ``"record"``, 1-based Parquet records.
    """
    rep = ds.report
    dropped: dict[str, dict[str, Any]] = {}
    for d in rep.dropped:
        entry = dropped.setdefault(d.reason, {"count": 0, "first_rows": [], "examples": []})
        entry["count"] += 1
        if len(entry["first_rows"]) < n_rows_shown:
            entry["first_rows"].append(d.row)
            entry["examples"].append(d.detail)
    conflicts = [
        {"smiles": g.smiles, "rows": g.rows[:n_rows_shown], "n_rows": len(g.rows),
         "values": g.values[:n_rows_shown]}
        for g in rep.merged
        if g.conflicting
    ][:n_rows_shown]
    targets = []
    masked = rep.masked_by_target()
    for j, (name, unit) in enumerate(zip(ds.target_names, ds.units, strict=True)):
        col = ds.y[:, j]
        col = col[np.isfinite(col)]  # a multi-target molecule may lack this target
        targets.append(
            {
                "name": name,
                "unit": unit,
                "count": int(col.size),
                "n_missing": int(len(ds) - col.size),
                "n_masked_rows": int(masked.get(name, 0)),
                "mean": float(np.mean(col)) if col.size else float("nan"),
                # one value has no sample SD (ddof=1): NaN, not 0 (which reads as "no spread")
                "std": float(np.std(col, ddof=1)) if col.size > 1 else float("nan"),
                "min": float(np.min(col)) if col.size else float("nan"),
                "median": float(np.median(col)) if col.size else float("nan"),
                "max": float(np.max(col)) if col.size else float("nan"),
            }
        )
    extra: dict[str, Any] = {}
    if isinstance(ds.meta.get("cliff_mol"), np.ndarray):
        extra["n_cliff_mol"] = int(np.sum(ds.meta["cliff_mol"]))
    if isinstance(ds.meta.get("moleculeace_split"), np.ndarray):
        labels, counts = np.unique(ds.meta["moleculeace_split"].astype(str), return_counts=True)
        extra["moleculeace_split"] = {str(k): int(v) for k, v in zip(labels, counts, strict=True)}
    if isinstance(ds.meta.get("qm9_index"), np.ndarray):
        extra["has_qm9_index"] = True
    return {
        **({"extra": extra} if extra else {}),
        "name": ds.name,
        "source": ds.source,
        "source_sha256": ds.source_sha256,
        "n_read": rep.n_read,
        "n_dropped": rep.n_dropped,
        "dropped": dropped,
        "n_masked": len(rep.masked),
        "masked": {
            t: {"count": c, "first_rows": [d.row for d in rep.masked if d.target == t][:n_rows_shown]}
            for t, c in rep.masked_by_target().items()
        },
        "n_merged_groups": len(rep.merged),
        "n_merged_rows": rep.n_merged_rows,
        "merged_first_rows": [g.rows[:n_rows_shown] + ([f"... ({len(g.rows):,} rows)"]
                                                       if len(g.rows) > n_rows_shown else [])
                              for g in rep.merged[:n_rows_shown]],
        "n_multi_fragment": rep.n_multi_fragment,
        "standardize": rep.standardize,
        "row_word": rep.row_word,
        "n_conflicts": rep.n_conflicts,
        "conflicts": conflicts,
        "n_final": len(ds),
        "checksum": ds.checksum,
        "targets": targets,
    }
