"""docs/tutorial.md: run exactly its ``$ cliffkit ...`` commands, in order (issue 15).

The tutorial's files (docs/tutorial/*.csv) and its TOML block are copied into an empty
folder, every command must exit 0, and the outputs the page describes must exist.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliffkit.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.cli]

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _commands(text: str) -> list[list[str]]:
    out = []
    for block in _blocks(text, "console"):
        for line in block.splitlines():
            if line.startswith("$ cliffkit "):
                out.append(shlex.split(line[2:])[1:])
    return out


def test_tutorial_commands_run(tmp_path, monkeypatch, capsys):
    text = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    for src in (DOCS / "tutorial").glob("*.csv"):
        shutil.copy(src, tmp_path / src.name)
    (toml,) = [b for b in _blocks(text, "toml") if b.startswith("# my_grid.toml")]
    (tmp_path / "my_grid.toml").write_text(toml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    commands = _commands(text)
    assert [c[0] for c in commands] == ["describe", "split", "train", "train", "train",
                                        "evaluate", "predict", "report", "bench", "report",
                                        "bench"]
    for argv in commands:
        rc = main(argv)
        out = capsys.readouterr()
        assert rc == 0, f"cliffkit {' '.join(argv)} failed: {out.err}"
        if argv[0] == "bench" and "--dry-run" not in argv:
            assert "rough estimate" in out.out and "6 cells" in out.out

    # the split file remembers the data (absolute path, columns, unit)
    rec = json.loads((tmp_path / "split.json").read_text())["dataset"]
    assert rec["path"] == str((tmp_path / "my_compounds.csv").resolve())
    assert rec["path_as_given"] == "my_compounds.csv"
    assert rec["smiles_col"] == "Structure" and rec["target_cols"] == ["logD"]
    assert rec["units"] == ["log units"]
    # predict: the columns the table on the page promises
    pred = pd.read_csv(tmp_path / "predicted.csv")
    assert {"prediction", "nearest_train_similarity", "nearest_train_smiles",
            "in_domain"} <= set(pred.columns)
    assert set(pred["in_domain"]) <= {"yes", "no"}
    assert ((pred["in_domain"] == "yes") == (pred["nearest_train_similarity"] >= 0.35)).all()
    # the reports: a user's summary, not the paper's claims; weak evidence labelled; unit
    for folder in ("report", "grid-report"):
        md = (tmp_path / folder / "report.md").read_text(encoding="utf-8")
        assert "Paper claims" not in md
        assert "Your datasets" in md and "my_compounds/logD" in md
        assert "weak evidence" in md and "log units" in md
        assert str(tmp_path) not in md.split("## Overview", 1)[1]  # task names, not paths
        assert (tmp_path / folder / "report.html").is_file()


def test_tutorial_budget_grid_and_own_methods(tmp_path, monkeypatch, capsys):
    # fresh-user trial 4: the grid keys below the top level (backbone_params ...) and how to
    # register a backbone or loss of one's own were in no user document; this runs them.
    import sys

    from cliffkit.loss._registry import LOSSES
    from cliffkit.models import Backbone
    from cliffkit.models._registry import BACKBONES

    text = (DOCS / "tutorial.md").read_text(encoding="utf-8")
    shutil.copy(DOCS / "tutorial" / "my_compounds.csv", tmp_path / "my_compounds.csv")
    (toml,) = [b for b in _blocks(text, "toml") if b.startswith("# my_budget_grid.toml")]
    (tmp_path / "my_budget_grid.toml").write_text(toml, encoding="utf-8")
    (module,) = [b for b in _blocks(text, "python") if b.startswith("# my_methods.py")]
    (tmp_path / "my_methods.py").write_text(module, encoding="utf-8")
    (use,) = [b for b in _blocks(text, "python") if b.startswith("import my_methods")]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["bench", "--config", "my_budget_grid.toml", "-o", "res", "--dry-run"]) == 0
    assert "8 cells" in capsys.readouterr().out
    try:
        scope: dict = {}
        exec(compile(use, "tutorial section 8", "exec"), scope)  # noqa: S102 - the page's code
        res = scope["res"]
        assert res.model.name == "rf" and res.loss.name == "sqrt-cliff"
        assert res.loss.params == {"lam": 0.1}
        assert res.evaluation.mae().value > 0
        loaded = Backbone.load(res.model.save(tmp_path / "rf-model"))
        assert np.allclose(loaded.predict(["CCO", "c1ccccc1O"]),
                           res.model.predict(["CCO", "c1ccccc1O"]))
    finally:
        BACKBONES._entries.pop("rf", None)
        LOSSES._entries.pop("sqrt-cliff", None)
        sys.modules.pop("my_methods", None)
