"""A user's own registry entries reach the bench's worker processes (fresh-user trial 4).

A backbone registered from the user's module worked with ``--n-jobs 1`` but every cell of
``--n-jobs 2`` failed "Unknown backbone" after the config check had accepted the name: the
spawned workers import a fresh cliffkit that knows only the built-ins.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from cliffkit.bench import LocalExecutor
from cliffkit.models import get_backbone_class
from cliffkit.models._registry import BACKBONES
from cliffkit.utils import user_registrations

_MODULE = textwrap.dedent('''
    from cliffkit.models import register_backbone
    from cliffkit.models._lgbm import LGBMBackbone

    @register_backbone("trial4-user-lgbm")
    class UserLGBM(LGBMBackbone):
        """A user's backbone (a subclass of a built-in, so it is complete)."""
''')


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "trial4_user_backbone.py").write_text(_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import trial4_user_backbone  # noqa: F401  (registers the backbone)

    yield "trial4_user_backbone"
    BACKBONES._entries.pop("trial4-user-lgbm", None)
    sys.modules.pop("trial4_user_backbone", None)


def test_user_registrations_names_the_module_and_the_entry(user_module):
    found = user_registrations()
    assert found[user_module] == ["backbone 'trial4-user-lgbm'"]
    assert not [m for m in found if m.startswith("cliffkit")]  # built-ins are not listed


def test_worker_processes_know_the_users_backbone(user_module):
    out = list(LocalExecutor(n_jobs=2).map_unordered(get_backbone_class,
                                                     ["trial4-user-lgbm", "lgbm"]))
    got = {task: cls.__name__ for task, cls in out}
    assert got == {"trial4-user-lgbm": "UserLGBM", "lgbm": "LGBMBackbone"}


def _inline_entry_error(call: str) -> str:
    """What ``call`` prints as 'ErrorType message' in a ``python -c`` program (a main program
    without a file) that registered the backbone 'inline-lgbm'."""
    code = textwrap.dedent('''
        from cliffkit.bench import LocalExecutor
        from cliffkit.models import register_backbone, get_backbone_class
        from cliffkit.models._lgbm import LGBMBackbone
        register_backbone("inline-lgbm")(type("InlineLGBM", (LGBMBackbone,), {}))
        try:
            CALL
        except Exception as exc:
            print(type(exc).__name__, exc)
    ''').replace("CALL", call)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    return res.stdout + res.stderr


def test_an_entry_of_a_main_program_without_a_file_is_refused_before_any_worker_starts():
    out = _inline_entry_error(
        'list(LocalExecutor(n_jobs=2).map_unordered(get_backbone_class, ["inline-lgbm"]))')
    assert out.startswith("InvalidParameterError backbone 'inline-lgbm' registered in "
                          "a main program without a file"), out
    assert "--n-jobs 1" in out


def test_ray_workers_import_the_users_modules_and_main_entries_are_refused(user_module):
    # the Ray executor did neither: its workers, like spawned ones, import a fresh cliffkit
    pytest.importorskip("ray")
    from cliffkit.bench._ray import _ray_modules, _run_with_threads

    assert user_module in _ray_modules()
    BACKBONES._entries.pop("trial4-user-lgbm")
    sys.modules.pop(user_module)
    got = _run_with_threads(get_backbone_class, "trial4-user-lgbm", 1, (user_module,))
    assert got.__name__ == "UserLGBM"  # imported (and so registered) before the task ran
    out = _inline_entry_error("from cliffkit.bench._ray import _ray_modules; _ray_modules()")
    assert out.startswith("InvalidParameterError backbone 'inline-lgbm' registered in "
                          "the main script cannot be seen by Ray workers"), out
