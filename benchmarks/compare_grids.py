"""Compare two bench results folders byte for byte, ignoring only timing and machine fields.

Used to check that a refactor leaves results unchanged (issue 16: the demo grid before and
after the experiment seam)::

    python benchmarks/compare_grids.py OLD_RESULTS NEW_RESULTS

For every file present in both folders:

- ``splits/*.json`` and ``cells/*.predictions.csv``: compared as bytes (``cmp``);
- ``cells/*.json`` (cell records) and ``splits/logs/*.json`` (split logs): compared as
  bytes after removing these fields, and only these, from the JSON:

  - ``seconds``, ``cpu_seconds``, ``started``, ``finished``, ``written`` (wall/CPU time,
    timestamps);
  - ``environment`` (versions, platform, executor of the machine that ran the cell);
  - ``extra.timing`` (seconds per stage: load, loss, fit, predict, evaluate);
  the remainder is re-serialised with the same ``json.dumps`` settings for both sides,
  so key order still counts.
- ``config.json`` of the folder: compared as bytes after the same removal.

Files in only one folder are listed (a grid still running has fewer cells). Exit status 1
when some common file differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

#: Fields removed before comparing a JSON record (top level), and inside ``extra``.
IGNORED_TOP = ("seconds", "cpu_seconds", "started", "finished", "environment", "written")
IGNORED_EXTRA = ("timing",)


def _stripped(path: Path) -> bytes:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(doc, dict):
        for key in IGNORED_TOP:
            doc.pop(key, None)
        extra = doc.get("extra")
        if isinstance(extra, dict):
            for key in IGNORED_EXTRA:
                extra.pop(key, None)
    return json.dumps(doc, indent=1, sort_keys=False).encode()


def _first_difference(a: bytes, b: bytes) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    lo = max(0, n - 60)
    return (f"first difference at byte {n}: old ...{a[lo:n + 60]!r}... "
            f"new ...{b[lo:n + 60]!r}...")


def _csv_difference(a: bytes, b: bytes) -> str:
    """Which columns two CSV files share and whether those columns are equal as text."""
    import csv
    import io

    ra = list(csv.reader(io.StringIO(a.decode())))
    rb = list(csv.reader(io.StringIO(b.decode())))
    ha, hb = ra[0], rb[0]
    common = [c for c in ha if c in hb]
    if len(ra) != len(rb):
        return f"{len(ra) - 1} rows old, {len(rb) - 1} new"
    unequal = [c for c in common
               if [r[ha.index(c)] for r in ra[1:]] != [r[hb.index(c)] for r in rb[1:]]]
    return (f"columns only new {[c for c in hb if c not in ha]}, only old "
            f"{[c for c in ha if c not in hb]}; the {len(common)} common columns "
            + (f"differ in {unequal}" if unequal else "are identical as text, row for row"))


def _json_paths(x, y, path: str = "") -> list[str]:
    """Where two JSON documents differ: ``+path`` only new, ``-path`` only old, ``~path`` changed."""
    if isinstance(x, dict) and isinstance(y, dict):
        out: list[str] = []
        for key in list(x) + [k for k in y if k not in x]:
            if key not in y:
                out.append(f"-{path}/{key}")
            elif key not in x:
                out.append(f"+{path}/{key}")
            else:
                out += _json_paths(x[key], y[key], f"{path}/{key}")
        return out
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        return [d for i, (a, b) in enumerate(zip(x, y, strict=True))
                for d in _json_paths(a, b, f"{path}[{i}]")]
    return [] if x == y else [f"~{path}"]


def compare(old: Path, new: Path) -> tuple[list[str], list[str], list[str]]:
    """(identical, differing with a note, only in one folder) relative paths."""
    same, differ, alone = [], [], []
    rel_old = {p.relative_to(old).as_posix() for p in old.rglob("*") if p.is_file()}
    rel_new = {p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file()}
    for rel in sorted(rel_old | rel_new):
        if rel not in rel_old or rel not in rel_new:
            alone.append(f"{rel} (only in {'old' if rel in rel_old else 'new'})")
            continue
        a, b = old / rel, new / rel
        raw = rel.endswith(".csv") or (rel.startswith("splits/") and not rel.startswith("splits/logs/"))
        x, y = (a.read_bytes(), b.read_bytes()) if raw else (_stripped(a), _stripped(b))
        if x == y:
            same.append(rel)
        elif rel.endswith(".json"):
            where = _json_paths(json.loads(x), json.loads(y)) or ["key order or formatting"]
            changed = [w for w in where if not w.startswith(("+", "-"))]
            added = [w[1:] for w in where if w.startswith("+")]
            removed = [w[1:] for w in where if w.startswith("-")]
            differ.append(f"{rel}: changed values {changed or 'none'}; "
                          f"{len(added)} fields only new {added}; "
                          f"{len(removed)} fields only old {removed}")
        elif rel.endswith(".csv"):
            differ.append(f"{rel}: {_csv_difference(x, y)}")
        else:
            differ.append(f"{rel}: {_first_difference(x, y)}")
    return same, differ, alone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    same, differ, alone = compare(args.old, args.new)
    print(f"ignored fields: {', '.join(IGNORED_TOP)}; extra.{', extra.'.join(IGNORED_EXTRA)}")
    print(f"{len(same)} identical, {len(differ)} differ, {len(alone)} in one folder only")
    for rel in same:
        print(f"  same    {rel}")
    for line in differ:
        print(f"  DIFFER  {line}")
    for line in alone:
        print(f"  alone   {line}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
