"""The fit loop of the torch backbones: :class:`Trainer` (AdamW, ReduceLROnPlateau,
early stopping on validation MAE with the best checkpoint restored), seeding and device
helpers. The plug-in contract for losses, pair samplers and epoch callbacks is in the
docstring of :mod:`cliffkit.train._trainer` and in ``docs/architecture.md``.
"""

from ._trainer import Trainer, TrainerParams, TrainResult, resolve_device, seeded

__all__ = ["Trainer", "TrainerParams", "TrainResult", "resolve_device", "seeded"]
