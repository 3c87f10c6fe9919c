"""Publish a ``cliffkit bench`` results folder into the repository (docs/results/<name>/).

The one way committed results are made (issue 20; ``docs/results/claims-small`` was made
the same way by hand). Two commands:

``publish SRC DST``
    Copies into ``DST`` what a reader needs to check every number and rebuild the report:

    - ``config.json`` (the grid; ``--grid NAME|TOML`` records the whole grid instead, when
      ``SRC`` was last run with a part of it, e.g. one backbone first);
    - ``cells/<key>.json`` of every cell of that grid found in ``SRC`` (cells made under
      other settings are left out and counted);
    - ``cells/<key>.predictions.csv.gz``: the predictions, gzip-compressed
      deterministically (level 9, no file name, mtime 0: the same CSV gives the same bytes;
      :func:`cliffkit.bench.load_results` reads the ``.gz`` when the CSV is absent);
    - ``splits/logs/*.json`` (each split's spec, seconds and warnings) and
      ``splits/SHA256SUMS`` (``sha256sum`` format) of every split file. The split files
      themselves are copied only with ``--with-splits``: full-QM9 splits are 7.5 MB each and
      are reproduced byte for byte from their spec by ``splits DST`` below;
    - with ``--report``: ``DST/report/`` by ``cliffkit report DST -o DST/report`` (and
      ``--compare DIR --compare-label TEXT`` passed on).

    Files already in ``DST`` with the same content are left untouched, so publishing a grid
    that is still running again only adds what is new. Writes are atomic.

``splits DST``
    Recomputes the split files listed in ``DST/splits/SHA256SUMS`` that are missing (from the
    spec in their ``splits/logs`` record, with the bench runner's own split function) and
    checks each against its recorded sha256; exit 1 on a mismatch.

Examples::

    python benchmarks/publish_results.py publish /work/runs/qm9-full docs/results/qm9-full \\
        --grid qm9-full --report --compare RESULTS_3K --compare-label "3k subsample"
    CLIFFKIT_DATA_DIR=../shared/data python benchmarks/publish_results.py splits docs/results/qm9-full
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

#: gzip level; with mtime 0 and no stored file name the output depends only on the bytes
#: and on zlib (Python's ``gzip.compress``).
GZIP_LEVEL = 9


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip of ``data`` (level 9, mtime 0, no file name in the header)."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_if_changed(path: Path, data: bytes) -> bool:
    from cliffkit.utils import atomic_write_bytes

    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return True


def _grid_config(src: Path, grid: str | None) -> tuple[dict, bytes]:
    """The grid to publish (dict) and the config.json bytes to write."""
    from cliffkit.bench import load_config

    written = json.loads((src / "config.json").read_text(encoding="utf-8"))
    if grid is None:
        return written["config"], (src / "config.json").read_bytes()
    cfg = load_config(grid)
    doc = {"config": cfg.to_dict(), "source": cfg.source, "written": written.get("written")}
    return doc["config"], (json.dumps(doc, indent=1) + "\n").encode()


def publish(src: Path, dst: Path, *, grid: str | None = None, with_splits: bool = False) -> dict:
    """Copy ``src`` into ``dst`` (see the module docstring). Returns counts."""
    from cliffkit.bench import GridConfig

    config, config_bytes = _grid_config(src, grid)
    keys = {c.key for c in GridConfig.from_dict(config, check_names=False).cells()}
    counts = {"cells": 0, "written": 0, "not_in_grid": 0, "missing": 0, "predictions_bytes": 0,
              "splits_listed": 0, "splits_copied": 0}
    counts["written"] += _write_if_changed(dst / "config.json", config_bytes)
    found = set()
    for path in sorted((src / "cells").glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        key = rec.get("key", path.stem)
        if key not in keys:
            counts["not_in_grid"] += 1
            continue
        found.add(key)
        counts["cells"] += 1
        counts["written"] += _write_if_changed(dst / "cells" / path.name, path.read_bytes())
        pred = src / "cells" / f"{key}.predictions.csv"
        gz = dst / "cells" / f"{key}.predictions.csv.gz"
        if pred.is_file():
            data = gzip_bytes(pred.read_bytes())
        elif pred.with_name(pred.name + ".gz").is_file():
            data = pred.with_name(pred.name + ".gz").read_bytes()
        else:
            continue  # a failed cell has no predictions
        counts["predictions_bytes"] += len(data)
        counts["written"] += _write_if_changed(gz, data)
    counts["missing"] = len(keys - found)
    splits = sorted((src / "splits").glob("*.json"))
    if splits:
        lines = []
        for path in splits:
            lines.append(f"{sha256_file(path)}  {path.name}\n")
            if with_splits:
                counts["splits_copied"] += 1
                counts["written"] += _write_if_changed(dst / "splits" / path.name, path.read_bytes())
        old = dst / "splits" / "SHA256SUMS"
        kept = {}  # split files published before and no longer in SRC are kept listed
        if old.is_file():
            for ln in old.read_text(encoding="utf-8").splitlines():
                digest, _, name = ln.partition("  ")
                kept[name] = f"{digest}  {name}\n"
        kept.update({ln.split("  ", 1)[1].rstrip("\n"): ln for ln in lines})
        counts["splits_listed"] = len(kept)
        counts["written"] += _write_if_changed(old, "".join(kept[k] for k in sorted(kept)).encode())
        for log in sorted((src / "splits" / "logs").glob("*.json")):
            counts["written"] += _write_if_changed(dst / "splits" / "logs" / log.name,
                                                   log.read_bytes())
    return counts


def regenerate_splits(dst: Path) -> dict:
    """Recompute the split files of ``dst/splits/SHA256SUMS`` that are missing; check them."""
    from cliffkit.bench._cell import compute_split
    from cliffkit.bench._config import SplitSpec

    sums = dst / "splits" / "SHA256SUMS"
    out = {"ok": [], "mismatch": [], "present": [], "no_spec": []}
    for ln in sums.read_text(encoding="utf-8").splitlines():
        digest, _, name = ln.partition("  ")
        path = dst / "splits" / name
        if path.is_file():
            out["present" if sha256_file(path) == digest else "mismatch"].append(name)
            continue
        log = dst / "splits" / "logs" / name
        if not log.is_file():
            out["no_spec"].append(name)
            continue
        spec = SplitSpec(**json.loads(log.read_text(encoding="utf-8"))["spec"])
        print(f"splitting {name} ...", file=sys.stderr, flush=True)
        result = compute_split(spec)
        tmp = path.with_name(f".{path.stem}.tmp.json")
        try:
            result.save(tmp)
            ok = sha256_file(tmp) == digest
            if ok:
                tmp.replace(path)
        finally:
            if tmp.exists():
                tmp.unlink()
        out["ok" if ok else "mismatch"].append(name)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish", help="copy a results folder into DST (cells, gzip predictions, "
                                       "split checksums; optionally the report)")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--grid", default=None, metavar="NAME|TOML",
                   help="record this whole grid in DST/config.json (default: SRC's config.json)")
    p.add_argument("--with-splits", action="store_true", help="copy the split files too")
    p.add_argument("--report", action="store_true", help="then run cliffkit report DST -o DST/report")
    p.add_argument("--compare", default=None, metavar="DIR", help="passed to cliffkit report")
    p.add_argument("--compare-label", default=None, metavar="TEXT", help="passed to cliffkit report")
    p.add_argument("--title", default=None, help="passed to cliffkit report")
    s = sub.add_parser("splits", help="recompute DST's missing split files and check their sha256")
    s.add_argument("dst", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "splits":
        if not (args.dst / "splits" / "SHA256SUMS").is_file():
            print(f"publish_results: error: {args.dst / 'splits' / 'SHA256SUMS'} not found; name a "
                  "folder written by 'publish_results.py publish'", file=sys.stderr)
            return 2
        res = regenerate_splits(args.dst)
        print(json.dumps({k: len(v) for k, v in res.items()}))
        for name in res["mismatch"] + res["no_spec"]:
            print(f"split file {name}: {'sha256 differs' if name in res['mismatch'] else 'no spec'}",
                  file=sys.stderr)
        return 1 if res["mismatch"] or res["no_spec"] else 0
    if not (args.src / "cells").is_dir() or not (args.src / "config.json").is_file():
        print(f"publish_results: error: {args.src} is not a 'cliffkit bench' results folder "
              "(needs cells/ and config.json)", file=sys.stderr)
        return 2
    if args.src.resolve() == args.dst.resolve():
        print("publish_results: error: SRC and DST are the same folder", file=sys.stderr)
        return 2
    counts = publish(args.src, args.dst, grid=args.grid, with_splits=args.with_splits)
    print(json.dumps(counts))
    if args.report:
        cmd = [sys.executable, "-m", "cliffkit", "report", str(args.dst), "-o", str(args.dst / "report")]
        if args.title:
            cmd += ["--title", args.title]
        if args.compare:
            cmd += ["--compare", args.compare]
        if args.compare_label:
            cmd += ["--compare-label", args.compare_label]
        return subprocess.call(cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
