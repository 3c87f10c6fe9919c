"""Without ray installed, the ray paths say how to install it (runs with or without ray)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from cliffkit.errors import MissingDependencyError

HINT = r"pip install -c constraints.txt -e '\.\[ray\]'"


@pytest.fixture
def no_ray(monkeypatch):
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():  # pragma: no cover
        pytest.skip("a Ray instance is running in this process")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError


def test_executor_needs_the_extra(no_ray, tmp_path):
    from cliffkit.bench import GridConfig, get_executor, run_grid

    with pytest.raises(MissingDependencyError, match=HINT):
        get_executor("ray")
    cfg = GridConfig.from_dict({"name": "fake", "seeds": [0], "splits": ["cliff"],
                                "backbones": ["mlp"], "losses": ["plain"],
                                "datasets": [{"name": "esol", "targets": ["y"]}]},
                               check_names=False)
    with pytest.raises(ImportError, match="The 'ray' executor needs"):
        run_grid(cfg, tmp_path / "res", executor="ray", show_progress=False)
    assert not list((tmp_path / "res" / "cells").glob("*.json"))


def test_distributed_search_needs_the_extra(no_ray):
    from cliffkit.similarity import find_neighbors_distributed

    fps = np.zeros((3, 256), np.uint8)
    with pytest.raises(MissingDependencyError, match=HINT):
        find_neighbors_distributed(fps, k=1)


@pytest.mark.cli
def test_cli_executor_ray_without_ray(no_ray, tmp_path, capsys):
    from cliffkit.cli import main

    rc = main(["bench", "--config", "smoke", "-o", str(tmp_path / "r"), "--executor", "ray",
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("cliffkit: error: ") and "-e '.[ray]'" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.cli
def test_cli_address_needs_the_ray_executor(tmp_path, capsys):
    from cliffkit.cli import main

    rc = main(["bench", "--config", "smoke", "-o", str(tmp_path / "r"), "--address", "auto"])
    err = capsys.readouterr().err
    assert rc == 2 and "'--address' option of bench needs --executor ray" in err


@pytest.mark.cli
@pytest.mark.parametrize(
    ("extra", "match"),
    [
        # found by the fresh-user trial: each was accepted and silently ignored
        (["--cpus-per-cell", "2"], "'--cpus-per-cell' option of bench needs --executor ray"),
        (["--executor", "ray", "--n-jobs", "4"], "'--n-jobs' option of bench is for the local"),
    ],
)
def test_cli_executor_options_of_the_other_executor_are_errors(tmp_path, capsys, extra, match):
    from cliffkit.cli import main

    rc = main(["bench", "--config", "smoke", "-o", str(tmp_path / "r"), "--dry-run", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and match in err and len(err.strip().splitlines()) == 1
