"""The top-level API is lazy, complete, and rejects unknown names."""

import subprocess
import sys

import pytest

import cliffkit


def test_version():
    assert cliffkit.__version__.count(".") == 2


@pytest.mark.parametrize("name", [n for n in cliffkit.__all__ if n != "__version__"])
def test_public_names_resolve(name):
    assert getattr(cliffkit, name) is not None


def test_unknown_name_raises():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        cliffkit.nope  # noqa: B018


def test_evaluate_is_callable_after_subpackage_import():
    import cliffkit.evaluate as ev_module
    from cliffkit import evaluate
    from cliffkit.evaluate import evaluate as ev_function

    assert callable(evaluate)
    assert callable(ev_module)
    assert ev_function.__name__ == "evaluate"


def test_import_and_cli_help_do_not_load_torch():
    code = (
        "import sys, cliffkit, cliffkit.cli, cliffkit.split, cliffkit.evaluate;"
        "from cliffkit.cli import main;"
        "rc = main(['--help']);"
        "print('torch' in sys.modules, 'lightgbm' in sys.modules, rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False 0"
