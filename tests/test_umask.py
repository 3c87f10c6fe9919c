"""Issue 14, "Also": every output file is created with the user's umask, not mode 0600."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from cliffkit.utils import atomic_write, atomic_write_bytes, atomic_write_text


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_writers_follow_umask(tmp_path, umask):
    want = 0o666 & ~umask
    paths = [atomic_write_text(tmp_path / "a.txt", "x"),
             atomic_write_bytes(tmp_path / "b.bin", b"x")]
    with atomic_write(tmp_path / "c.csv", "w", newline="") as fh:
        fh.write("a,b\n")
    paths.append(tmp_path / "c.csv")
    for p in paths:
        assert _mode(p) == want, (p, oct(_mode(p)), oct(want))
    # replacing an existing file gives the same mode, and no temporary file is left
    atomic_write_text(tmp_path / "a.txt", "y")
    assert _mode(tmp_path / "a.txt") == want
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.csv"]


def test_cli_outputs_follow_umask(tmp_path, umask, monkeypatch):
    """Split file, chemprop files, neighbour file and weights written by the CLI."""
    import pandas as pd

    from cliffkit.cli import main

    want = 0o666 & ~umask
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    smiles = ["C" * i + "O" for i in range(1, 13)] + ["C" * i + "N" for i in range(1, 13)]
    pd.DataFrame({"smiles": smiles, "y": rng.normal(size=len(smiles))}).to_csv(
        "m.csv", index=False)
    assert main(["split", "m.csv", "--method", "random", "-o", "s.json", "--quiet",
                 "--chemprop-splits", "cp.json", "--chemprop-data", "cp.csv"]) == 0
    assert main(["neighbors", "m.csv", "-k", "3", "-o", "nn.csv"]) == 0
    assert main(["weights", "m.csv", "--split", "s.json", "-o", "w.csv"]) == 0
    for name in ("s.json", "cp.json", "cp.csv", "nn.csv", "w.csv"):
        assert _mode(tmp_path / name) == want, (name, oct(_mode(tmp_path / name)))


def test_report_and_split_objects_follow_umask(tmp_path, umask):
    from cliffkit.report import Report, write_report
    from cliffkit.similarity import NeighborGraph

    want = 0o666 & ~umask
    rep = Report("t")
    with rep.section("s"):
        rep.add_message("hello")
    write_report(rep, tmp_path / "rep")
    files = [p for p in (tmp_path / "rep").rglob("*") if p.is_file()]
    assert files and all(_mode(p) == want for p in files)
    g = NeighborGraph(np.array([0, 1]), np.array([0]), np.array([0.5]), 1, {})
    g.save(tmp_path / "g.npz")
    assert _mode(tmp_path / "g.npz") == want


def test_a_refused_write_names_the_file_asked_for_not_the_temporary(tmp_path, monkeypatch):
    # fresh-user trial 4: on a read-only folder the one-line error named
    # 'rodir/.s.json.9ecf2a4486e7.tmp' (atomic_write's temporary file), not 'rodir/s.json'
    import errno

    from cliffkit.cli import os_error_message

    real_open = os.open

    def read_only(path, flags, mode=0o777, **kw):
        if str(path).endswith(".tmp"):
            raise OSError(errno.EROFS, "Read-only file system", path)
        return real_open(path, flags, mode, **kw)

    monkeypatch.setattr(os, "open", read_only)
    target = tmp_path / "s.json"
    with pytest.raises(OSError) as info:
        atomic_write_text(target, "{}\n")
    assert info.value.errno == errno.EROFS and info.value.filename == str(target)
    assert os_error_message(info.value) == (
        f"cannot use {str(target)!r}: Read-only file system; choose a folder on a writable disk.")
    assert list(tmp_path.iterdir()) == []
