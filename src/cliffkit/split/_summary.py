"""A data summary of a SplitResult and its plain-text rendering (used by ``cliffkit split``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cliffs import STRATA
from ..utils import format_table

__all__ = ["summarize_split", "format_summary", "exposure", "compare_with_cliffsplit",
           "format_comparison"]

_QS = (0.1, 0.5, 0.9)


def _smd(a: np.ndarray, b: np.ndarray) -> float:
    """Standardised mean difference (a - b) / sqrt((var_a + var_b) / 2)."""
    if a.size < 2 or b.size < 2:
        return float("nan")
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0


def summarize_split(res, subset: str = "test") -> dict[str, Any]:
    """Sizes, strata counts, cliff shares, similarity quantiles and matching balance.

    Returns
    -------
    dict
        ``sizes``, ``cliff_share``, ``train_cliff_depletion`` (CliffSplit: how many of
        the full data's cliff molecules, any driving target, stay in training; None for
        other splits and older split files) and, per target, ``counts`` (test and val), ``share``,
        ``n_unlabelled`` (held-out molecules without this target's value, not labelled),
        ``n_identical_partner`` (held-out cases whose partner has similarity 1.0),
        ``similarity`` (quantiles 0.1/0.5/0.9 of max similarity to train per stratum),
        ``matching`` (pairs and standardised mean differences before and after).
    """
    rows = res.subset(subset)
    out: dict[str, Any] = {
        "method": res.method,
        "dataset": res.dataset.get("name", ""),
        "sizes": {s: int(res.subset(s).size) for s in ("train", "val", "test")},
        "cliff_share": res.cliff_share,
        "train_cliff_depletion": res.info.get("train_cliff_depletion"),
        "targets": {},
    }
    for name in res.target_names:
        lab = res.labels[name]
        st = lab.strata[rows]
        sim = {}
        for s in STRATA:
            v = lab.max_similarity[rows[st == s]]
            sim[s] = [float(np.quantile(v, q)) for q in _QS] if v.size else None
        cl, sm = rows[st == "cliff"], rows[st == "smooth"]
        mc, ms = rows[lab.matched_cliff[rows]], rows[lab.matched_smooth[rows]]
        mcz, msz = rows[lab.matched_cliff_z[rows]], rows[lab.matched_smooth_z[rows]]
        sim_of, z_of = lab.max_similarity, lab.abs_z
        out["targets"][name] = {
            "counts": {s: lab.counts(res.subset(s)) for s in ("test", "val")},
            "n_unlabelled": {s: lab.n_unlabelled(res.subset(s)) for s in ("test", "val")},
            "n_identical_partner": {
                s: int(lab.identical_partner(res.subset(s)).sum()) for s in ("test", "val")
            },
            "share": {s: lab.cliff_share(res.subset(s)) for s in ("test", "val")},
            "scale": lab.scale,
            "mode": lab.mode,
            "cliff_threshold": lab.cliff_threshold,
            "smooth_threshold": lab.smooth_threshold,
            "train_severity_quantiles": lab.train_severity_quantiles,
            "similarity": sim,
            "matching": {
                "n_cliff": int(cl.size), "n_smooth": int(sm.size),
                "median_similarity": [float(np.median(sim_of[cl])) if cl.size else float("nan"),
                                      float(np.median(sim_of[sm])) if sm.size else float("nan")],
                "smd_similarity_all": _smd(sim_of[cl], sim_of[sm]),
                "smd_abs_z_all": _smd(z_of[cl], z_of[sm]),
                "n_pairs_similarity": int(mc.size),
                "smd_similarity_matched": _smd(sim_of[mc], sim_of[ms]),
                "smd_abs_z_matched": _smd(z_of[mc], z_of[ms]),
                "n_pairs_similarity_z": int(mcz.size),
                "smd_similarity_matched_z": _smd(sim_of[mcz], sim_of[msz]),
                "smd_abs_z_matched_z": _smd(z_of[mcz], z_of[msz]),
            },
        }
    return out


def _f(x: float, spec: str = ".3f") -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, spec)


def format_summary(res, subset: str = "test") -> str:
    """Human-readable summary (plain text, one block per target)."""
    s = summarize_split(res, subset)
    z = s["sizes"]
    lines = [
        f"{res.method} split of {s['dataset'] or 'data'} ({res.n_samples:,} molecules)",
        f"sizes: train {z['train']:,} | val {z['val']:,} | test {z['test']:,}",
    ]
    req = res.cliff_share.get("requested")
    for name, t in s["targets"].items():
        unit = "|dy|" if t["mode"] == "delta" else "severity"
        lines.append("")
        lines.append(
            f"target {name}: |dy| scale (P95 train pairs) {_f(t['scale'], '.4g')}; cliff: {unit} > "
            f"{_f(t['cliff_threshold'], '.4g')}; smooth: {unit} <= {_f(t['smooth_threshold'], '.4g')}"
        )
        rows = [[sub, *(f"{t['counts'][sub][x]:,}" for x in STRATA), _f(t["share"][sub])]
                for sub in ("test", "val")]
        lines.extend(format_table(["subset", *STRATA, "cliff share"], rows, indent="  ", gap=3))
        nu = t["n_unlabelled"]
        if nu["test"] or nu["val"]:
            lines.append(f"  unlabelled (no {name} value; not scored for it): test {nu['test']:,} | "
                         f"val {nu['val']:,}")
        ni = t["n_identical_partner"]
        lines.append(
            f"  partner at similarity 1.0 (identical fingerprints): test {ni['test']:,} | val "
            f"{ni['val']:,}" + ("; no fingerprint model can separate these (salts/parents, "
                                "stereoisomers, isotopologues, long homologues; see --standardize)"
                                if ni["test"] or ni["val"] else "")
        )
        lines.append(f"  similarity to train ({subset}; q10 / q50 / q90):")
        for st, q in t["similarity"].items():
            if q is not None:
                lines.append(f"    {st:<13} {q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f}")
        m = t["matching"]
        lines.append(
            f"  matching ({subset}): {m['n_cliff']} cliff vs {m['n_smooth']} smooth; median similarity "
            f"{_f(m['median_similarity'][0])} vs {_f(m['median_similarity'][1])} "
            f"(SMD {_f(m['smd_similarity_all'], '+.2f')}, |z| SMD {_f(m['smd_abs_z_all'], '+.2f')})"
        )
        lines.append(
            f"    matched on similarity: {m['n_pairs_similarity']} pairs (SMD "
            f"{_f(m['smd_similarity_matched'], '+.2f')}, |z| SMD {_f(m['smd_abs_z_matched'], '+.2f')}); "
            f"on similarity and |z|: {m['n_pairs_similarity_z']} pairs (SMD "
            f"{_f(m['smd_similarity_matched_z'], '+.2f')}, |z| SMD {_f(m['smd_abs_z_matched_z'], '+.2f')})"
        )
        if not t["counts"]["test"]["cliff"]:
            q = ", ".join(f"{k} {_f(v, '.3g')}" for k, v in t["train_severity_quantiles"].items())
            lines.append(f"  no cliff cases at these thresholds; training severity quantiles: {q}")
    dep = s.get("train_cliff_depletion")
    if dep and dep.get("full_data_cliff"):
        lines.append("")
        lines.append(
            f"training cliff depletion: {dep['in_train']:,} of the full data's "
            f"{dep['full_data_cliff']:,} cliff molecules are in training "
            f"({_f(dep['share_in_train'])}; training holds {_f(dep['train_fraction'])} of all "
            "molecules): a model trained here sees fewer cliffs than in deployment")
    got = res.cliff_share.get(f"{subset}_any")
    if req is not None:
        lines.append("")
        lines.append(f"achieved cliff share ({subset}, cliff for at least one target): {_f(got)} "
                     f"(requested {req:.3f})")
    return "\n".join(lines)


def exposure(res, subset: str = "test") -> dict[str, dict[str, float]]:
    """How cliff-exposed and how supported a held-out set is, per target.

    Returns
    -------
    dict
        Per target: ``n`` (molecules in ``subset``), ``supported`` (fraction with a training
        neighbour at ``min_similarity``), ``cliff_share`` (cliff cases among supported),
        ``cliff``/``smooth`` counts, ``median_similarity`` (to the nearest training molecule).
    """
    rows = res.subset(subset)
    out = {}
    for name in res.target_names:
        lab = res.labels[name]
        st = lab.strata[rows]
        sup = st != "unsupported"
        out[name] = {
            "n": int(rows.size),
            "supported": float(sup.mean()) if rows.size else float("nan"),
            "cliff_share": float((st == "cliff").sum() / sup.sum()) if sup.any() else float("nan"),
            "cliff": int((st == "cliff").sum()),
            "smooth": int((st == "smooth").sum()),
            "median_similarity": float(np.median(lab.max_similarity[rows])) if rows.size else float("nan"),
        }
    return out


def compare_with_cliffsplit(res, dataset, subset: str = "test") -> dict[str, Any]:
    """Exposure of ``res`` beside a :class:`~cliffkit.split.CliffSplit` of the same data.

    The CliffSplit uses the same test and validation fractions, labelling parameters and
    seed as ``res`` (its default ``cliff_share`` of 0.5), so the two rows answer "how
    cliff-exposed is this test set compared with one built to be?".

    Returns
    -------
    dict
        ``{"given": exposure(res), "cliffsplit": exposure(cliff split), "cliffsplit_params": {...}}``.
    """
    import warnings

    from ._cliff import CliffSplit

    n = res.n_samples
    p = res.params
    params = dict(
        test_size=max(res.test.size / n, 1.0 / n), val_size=res.val.size / n,
        k=p.get("k"), min_similarity=res.similarity_params["min_similarity"],
        radius=res.similarity_params["radius"], n_bits=res.similarity_params["n_bits"],
        cliff_quantile=p.get("cliff_quantile", 0.8), smooth_quantile=p.get("smooth_quantile", 0.5),
        delta=p.get("delta"), targets=list(res.target_names),
        random_state=p.get("random_state", 0) if isinstance(p.get("random_state", 0), int) else 0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CliffSplit(**params).make_split(dataset)
    return {"given": exposure(res, subset), "cliffsplit": exposure(ref, subset),
            "cliffsplit_params": params}


def format_comparison(cmp: dict[str, Any], subset: str = "test") -> str:
    """Plain-text table of :func:`compare_with_cliffsplit` (each column as wide as its
    widest cell, so a long target name keeps the columns apart)."""
    lines = [f"{subset} set exposure, given split vs CliffSplit on the same data "
             "(same sizes, thresholds and seed):"]
    rows = []
    for name in cmp["given"]:
        for label, key in (("given", "given"), ("CliffSplit", "cliffsplit")):
            e = cmp[key][name]
            rows.append([name, label, f"{e['n']:,}", _f(e["supported"]), _f(e["cliff_share"]),
                         f"{e['cliff']:,}", f"{e['smooth']:,}", _f(e["median_similarity"])])
    lines.extend(format_table(["target", "split", "n", "supported", "cliff share", "cliff",
                               "smooth", "median sim"], rows, align="llrrrrrr", indent="  "))
    return "\n".join(lines)
