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
    that is still running again only adds what is new; a report file that differs only in
    its "created" time keeps its old bytes, so re-publishing an unchanged folder is a no-op.
    ``SRC`` may itself be a published folder (its ``SHA256SUMS`` and split logs carry over).
    Writes are atomic. Every input is checked before the first write (never a
    half-published ``DST``); bad input is one line ``publish_results: error: ...``, exit 2:
    an unknown ``--grid``, a ``DST`` that is a file, a cell file of ``SRC`` that is not a
    readable cell record (the same rule as :func:`cliffkit.bench.load_results`: never
    dropped; here refused, since a published folder must be whole), an unreadable split log
    or ``SHA256SUMS`` line, no cell of the grid in ``SRC``, ``--compare``/``--title``
    without ``--report``, ``--compare-label`` without ``--compare``. A finished cell without
    a predictions file is published with a warning that counts them.

``splits DST``
    Recomputes the split files listed in ``DST/splits/SHA256SUMS`` that are missing (from the
    spec in their ``splits/logs`` record, with the bench runner's own split function) and
    checks each against its recorded sha256; exit 1 on a mismatch, 2 (one line) for a
    malformed ``SHA256SUMS`` line or split log.

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
import re
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


class PublishError(Exception):
    """Bad input: printed as one line ``publish_results: error: ...`` (exit 2)."""


_SUM_LINE = re.compile(r"^([0-9a-f]{64})  (\S.*)$")


def read_sums(path: Path) -> dict[str, str]:
    """``SHA256SUMS`` (``sha256sum`` format) as {file name: hex digest}.

    Raises PublishError naming the file and line of a malformed line."""
    out = {}
    for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _SUM_LINE.match(ln)
        if not m:
            raise PublishError(f"{path}: line {i} is not '<64 hex digits>  <file name>' "
                               f"(got {ln[:60]!r}); fix or delete the line")
        out[m.group(2)] = m.group(1)
    return out


def _grid_config(src: Path, grid: str | None) -> tuple[dict, bytes]:
    """The grid to publish (dict) and the config.json bytes to write."""
    from cliffkit.bench import load_config
    from cliffkit.errors import CliffkitError

    try:
        written = json.loads((src / "config.json").read_text(encoding="utf-8"))
        if grid is None:
            return written["config"], (src / "config.json").read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublishError(f"{src / 'config.json'} cannot be read as a grid ({exc}); name the "
                           "whole grid with --grid NAME|TOML") from None
    try:
        cfg = load_config(grid)
    except (CliffkitError, OSError, ValueError) as exc:
        raise PublishError(f"--grid {grid}: {exc}") from None
    written = written if isinstance(written, dict) else {}
    doc = {"config": cfg.to_dict(), "source": cfg.source, "written": written.get("written")}
    return doc["config"], (json.dumps(doc, indent=1) + "\n").encode()


def _check_source(src: Path, keys: set[str]) -> tuple[list[tuple[Path, dict]], int]:
    """The grid's cell records of ``src`` (path, record), all read before anything is
    written, and the number of cells outside the grid; PublishError for a malformed cell
    file, for a malformed split log or SHA256SUMS, or for no cell of the grid."""
    from cliffkit.bench._results import _read_cell

    cells, bad, not_in_grid = [], [], 0
    for path in sorted(p for p in (src / "cells").glob("*.json") if not p.name.startswith(".")):
        rec, problem = _read_cell(path)
        if problem is not None:
            bad.append(f"{path.name}: {problem}")
            continue
        if rec.get("key", path.stem) in keys:
            cells.append((path, rec))
        else:
            not_in_grid += 1
    if bad:
        raise PublishError(f"{len(bad)} cell file(s) in {src / 'cells'} cannot be read, e.g. "
                           f"{bad[0]}; rerun those cells ('cliffkit bench' redoes a cell whose "
                           "file you delete) or move them away")
    if not cells:
        raise PublishError(f"none of the {not_in_grid} cells in {src / 'cells'} belongs to the "
                           "grid to publish; check --grid (or SRC's config.json)")
    for log in sorted((src / "splits" / "logs").glob("*.json")):
        try:
            doc = json.loads(log.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
                raise ValueError("no 'spec' object")
        except (OSError, ValueError) as exc:
            raise PublishError(f"split log {log} cannot be read ({exc}); its split cannot be "
                               "rebuilt from it") from None
    if (src / "splits" / "SHA256SUMS").is_file():
        read_sums(src / "splits" / "SHA256SUMS")
    return cells, not_in_grid


def publish(src: Path, dst: Path, *, grid: str | None = None, with_splits: bool = False) -> dict:
    """Copy ``src`` into ``dst`` (see the module docstring). Returns counts."""
    from cliffkit.bench import GridConfig

    config, config_bytes = _grid_config(src, grid)
    keys = {c.key for c in GridConfig.from_dict(config, check_names=False).cells()}
    cells, not_in_grid = _check_source(src, keys)  # everything checked before a write
    dst_sums = dst / "splits" / "SHA256SUMS"
    kept = read_sums(dst_sums) if dst_sums.is_file() else {}
    counts = {"cells": 0, "written": 0, "not_in_grid": not_in_grid, "missing": 0,
              "predictions_bytes": 0, "no_predictions": 0, "splits_listed": 0,
              "splits_copied": 0}
    counts["written"] += _write_if_changed(dst / "config.json", config_bytes)
    found = set()
    for path, rec in cells:
        key = rec.get("key", path.stem)
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
            # a failed cell has no predictions; a finished one without them is counted
            counts["no_predictions"] += rec.get("status") == "ok"
            continue
        counts["predictions_bytes"] += len(data)
        counts["written"] += _write_if_changed(gz, data)
    counts["missing"] = len(keys - found)
    # split checksums: split files published before and no longer in SRC stay listed; a SRC
    # that is itself a published folder (SHA256SUMS, no split files) passes its list on
    src_sums = src / "splits" / "SHA256SUMS"
    if src_sums.is_file():
        kept.update(read_sums(src_sums))
    for path in sorted((src / "splits").glob("*.json")):
        kept[path.name] = sha256_file(path)
        if with_splits:
            counts["splits_copied"] += 1
            counts["written"] += _write_if_changed(dst / "splits" / path.name, path.read_bytes())
    if kept:
        counts["splits_listed"] = len(kept)
        counts["written"] += _write_if_changed(
            dst_sums, "".join(f"{kept[k]}  {k}\n" for k in sorted(kept)).encode())
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
    for name, digest in read_sums(sums).items():
        path = dst / "splits" / name
        if path.is_file():
            out["present" if sha256_file(path) == digest else "mismatch"].append(name)
            continue
        log = dst / "splits" / "logs" / name
        if not log.is_file():
            out["no_spec"].append(name)
            continue
        try:
            spec = SplitSpec(**json.loads(log.read_text(encoding="utf-8"))["spec"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PublishError(f"split log {log} cannot be read as a split spec ({exc}); "
                               "restore it from git") from None
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


#: The report's creation time, from report.md's "cliffkit V, created T" line.
_CREATED = re.compile(rb"created (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)")


def _created(md: bytes | None) -> bytes | None:
    m = _CREATED.search(md or b"")
    return m.group(1) if m else None


def _report(dst: Path, options: list[str]) -> int:
    """``cliffkit report DST -o DST/report``; a file whose new content differs from the old
    one only in the report's creation time (wherever it is printed) keeps its old bytes, so
    re-publishing an unchanged folder is a no-op."""
    out = dst / "report"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} if out.is_dir() else {}
    rc = subprocess.call([sys.executable, "-m", "cliffkit", "report", str(dst), "-o", str(out),
                          *options])
    from cliffkit.utils import atomic_write_bytes

    md = out / "report.md"
    t_old, t_new = _created(before.get(md)), _created(md.read_bytes() if md.is_file() else None)
    if rc != 0 or not t_old or not t_new:
        return rc
    for path, old in before.items():
        if path.is_file():
            new = path.read_bytes()
            if new != old and new.replace(t_new, t_old) == old:
                atomic_write_bytes(path, old)
    return rc


def _fail(message: str) -> int:
    print(f"publish_results: error: {message}", file=sys.stderr)
    return 2


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
    try:
        return _main(args)
    except PublishError as exc:
        return _fail(str(exc))


def _main(args) -> int:
    if args.cmd == "splits":
        if not (args.dst / "splits" / "SHA256SUMS").is_file():
            return _fail(f"{args.dst / 'splits' / 'SHA256SUMS'} not found; name a folder written "
                         "by 'publish_results.py publish'")
        res = regenerate_splits(args.dst)
        print(json.dumps({k: len(v) for k, v in res.items()}))
        for name in res["mismatch"] + res["no_spec"]:
            print(f"split file {name}: {'sha256 differs' if name in res['mismatch'] else 'no spec'}",
                  file=sys.stderr)
        return 1 if res["mismatch"] or res["no_spec"] else 0
    # every check before the first write: no half-published DST
    if not (args.src / "cells").is_dir() or not (args.src / "config.json").is_file():
        return _fail(f"{args.src} is not a 'cliffkit bench' results folder (needs cells/ and "
                     "config.json)")
    if args.dst.exists() and not args.dst.is_dir():
        return _fail(f"DST {args.dst} is a file; name a folder (new or published before)")
    if args.src.resolve() == args.dst.resolve():
        return _fail("SRC and DST are the same folder")
    for opt in ("title", "compare", "compare_label"):
        if getattr(args, opt) is not None and not args.report:
            return _fail(f"--{opt.replace('_', '-')} is passed to the report: add --report")
    if args.compare_label is not None and args.compare is None:
        return _fail("--compare-label names the folder of --compare: add --compare DIR")
    if args.compare is not None and not (Path(args.compare) / "cells").is_dir():
        return _fail(f"--compare {args.compare} is not a 'cliffkit bench' results folder "
                     "(no cells/ in it)")
    counts = publish(args.src, args.dst, grid=args.grid, with_splits=args.with_splits)
    print(json.dumps(counts))
    if counts["no_predictions"]:
        print(f"publish_results: warning: {counts['no_predictions']} finished cell(s) in "
              f"{args.src / 'cells'} have no predictions file: published without it (the "
              "report's figures and claims bootstrap leave them out)", file=sys.stderr)
    if args.report:
        options = []
        for opt, flag in (("title", "--title"), ("compare", "--compare"),
                          ("compare_label", "--compare-label")):
            if getattr(args, opt) is not None:
                options += [flag, getattr(args, opt)]
        return _report(args.dst, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
