"""cliffkit's warnings name the caller's line, not cliffkit's code, and the CLI prints them
as one 'cliffkit: warning:' line (a fresh-user trial saw 'src/cliffkit/utils/_validation.py:182:
DataWarning ... return func(*args, **kwargs)')."""

import warnings

from cliffkit.errors import DataWarning


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return caught


def test_loader_warning_points_at_the_caller(tmp_path):
    from cliffkit.data import load_dataset

    path = tmp_path / "dup.csv"
    path.write_text("smiles,y\nCCO,1\nCCO,5\nCCN,2\nCCC,3\n")
    caught = _caught(lambda: load_dataset(path, smiles_col="smiles", target_cols=["y"]))
    dup = [w for w in caught if issubclass(w.category, DataWarning)]
    assert dup and all(w.filename == __file__ for w in dup), [(w.filename, w.lineno) for w in caught]
    # one group: singular grammar
    assert "1 group of duplicate molecules has conflicting y values" in str(dup[0].message)
    assert "and was averaged" in str(dup[0].message)


def test_neighbour_search_warning_points_at_the_caller():
    from cliffkit.similarity import compute_fingerprints, find_neighbors

    fps = compute_fingerprints(["CCO", "CCN", "CCC"])
    caught = _caught(lambda: find_neighbors(fps, k=10))
    assert caught and all(w.filename == __file__ for w in caught), [w.filename for w in caught]


def test_cli_prints_cliffkit_warnings_as_one_line_and_restores_the_hook(tmp_path, capsys):
    from cliffkit.cli import main
    from cliffkit.cli._app import _warning_as_line

    before = warnings.showwarning
    path = tmp_path / "dup.csv"
    path.write_text("smiles,y\nCCO,1\nCCO,5\nCCN,2\nCCC,3\n")
    assert main(["describe", str(path), "--smiles-col", "smiles", "--target-col", "y"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: warning: ") and ".py:" not in err
    assert warnings.showwarning is before
    # the hook itself: a CliffkitWarning is one line; another warning takes the old route
    seen = []
    show = _warning_as_line(lambda *a: seen.append(a))
    show(DataWarning("two\n   lines"), DataWarning, "/x/cliffkit/data/_a.py", 3)
    show(RuntimeWarning("other"), RuntimeWarning, "x.py", 1)
    err = capsys.readouterr().err
    assert err == "cliffkit: warning: two lines\n" and len(seen) == 1 and seen[0][1] is RuntimeWarning
