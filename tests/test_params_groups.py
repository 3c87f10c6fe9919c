"""Parameter groups declared once (issue 16): what each class inherits, and in which order."""

import inspect
from dataclasses import fields

import pytest

from cliffkit.models import get_backbone_class, list_backbones
from cliffkit.models._mpnn_params import MPNNParams
from cliffkit.models._torch import TorchBackbone
from cliffkit.split import SPLITTERS
from cliffkit.split._base import HeldOutSizes, LabelParams
from cliffkit.train import Trainer, TrainerParams

TRAINER = [f.name for f in fields(TrainerParams)]
TORCH = [n for n in list_backbones() if issubclass(get_backbone_class(n), TorchBackbone)]


def _kinds(cls) -> dict[str, str]:
    return {p.name: p.kind.name for p in inspect.signature(cls).parameters.values()}


def test_every_torch_backbone_is_found():
    assert set(TORCH) >= {"mlp", "gin", "dmpnn", "schnet"}


@pytest.mark.parametrize("name", TORCH)
def test_torch_backbones_take_the_trainer_parameters_keyword_only_in_one_order(name):
    cls = get_backbone_class(name)
    kinds = _kinds(cls)
    assert list(kinds)[-len(TRAINER):] == TRAINER
    assert all(kinds[k] == "KEYWORD_ONLY" for k in TRAINER)
    for key in TRAINER:
        assert cls._parameter_constraints[key] is TrainerParams._parameter_constraints[key]
    model = cls(epochs=3, random_state=7)
    assert model._trainer().get_params()["epochs"] == 3
    assert model._trainer().get_params()["random_state"] == 7


def test_trainer_extends_the_trainer_parameters():
    assert [f.name for f in fields(Trainer)][:len(TRAINER)] == TRAINER


@pytest.mark.parametrize("name", ["dmpnn", "chemprop"])
def test_the_d_mpnn_architecture_is_shared(name):
    cls = get_backbone_class(name)
    arch = [f.name for f in fields(MPNNParams)]
    assert list(_kinds(cls))[:len(arch)] == arch
    assert issubclass(cls, MPNNParams)


@pytest.mark.parametrize("name", sorted(SPLITTERS.list()))
def test_splitters_take_the_labelling_parameters_after_their_sizes(name):
    cls = SPLITTERS.get(name)
    labels = [f.name for f in fields(LabelParams)]
    params = list(_kinds(cls))
    start = params.index("k")
    assert params[start:start + len(labels)] == labels
    if issubclass(cls, HeldOutSizes):
        assert params[:2] == ["test_size", "val_size"]
    assert params[-2:] == ["n_jobs", "show_progress"]
