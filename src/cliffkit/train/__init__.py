"""The fit loop of the torch backbones: :class:`Trainer` (AdamW, ReduceLROnPlateau,
early stopping on validation MAE with the best checkpoint restored), seeding and device
helpers. The plug-in contract for losses, pair samplers and epoch callbacks is in the
docstring of :mod:`cliffkit.train._trainer` and in ``docs/architecture.md``.
"""

import os as _os

# OpenMP threads that spin while waiting make torch 10-20x slower on a machine shared with
# other processes (measured: a 1713x128 matmul took 46 ms instead of 2.7 ms with 2 spinning
# threads). Passive waiting costs nothing measurable when the machine is idle. Only takes
# effect when torch is imported after cliffkit.models / cliffkit.train.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


from ._trainer import Trainer, TrainResult, resolve_device, seeded

__all__ = ["Trainer", "TrainResult", "resolve_device", "seeded"]
