r"""The fit loop shared by every torch backbone.

Contract
--------
``Trainer(...).fit(model, train_inputs, val_inputs, y_train, y_val, *, sample_weight=None,
loss=None, pairs=None, batch_sampler=None, epoch_callback=None, log_path=None)``

- ``model`` is a ``torch.nn.Module``; ``model(inputs)`` returns predictions of shape
  ``(b,)`` or ``(b, 1)`` in **standardised** units. If it has ``reset_parameters()`` the
  trainer calls it under the seed first (``reset=True``), so one instance serves every seed.
- ``train_inputs`` / ``val_inputs`` are *batchers*: ``len(b)`` molecules, ``b.batch(idx)``
  returns the model input for the molecules ``idx`` (a LongTensor on the batcher's
  device), and ``b.to(device)`` moves the cached tensors (featurised once, never per epoch).
  :class:`~cliffkit.models.PackedGraphs` and :class:`~cliffkit.models.TensorBatcher` are two.
- Targets are standardised with the mean and standard deviation of ``y_train`` only.
- ``loss``: ``None`` gives the plain weighted ``criterion`` (``"mse"`` or ``"l1"``),
  :math:`\sum_i w_i \ell_i / \sum_i w_i` (the plain mean without weights). Otherwise a
  callable (e.g. :class:`cliffkit.loss.CliffLoss`) called as
  ``loss(pred, target, weight=w_batch, pair_index=pair_index)`` with standardised ``pred``
  and ``target`` of shape ``(b,)``, ``w_batch`` of shape ``(b,)`` or None, and
  ``pair_index`` a LongTensor ``(2, p)`` of in-batch positions of the training cliff
  ``pairs`` (global training indices, shape ``(n_pairs, 2)``) with both members in the
  batch, or None when no pairs were given.
- A ``loss`` with ``needs_embedding = True`` (:class:`cliffkit.loss.ACALoss`) is also
  given ``embedding=``: the batch's latent vectors, shape ``(b, d)``, the input of the
  model's output layer (:func:`cliffkit.models.latent_layer`, a forward pre-hook
  held for one pass; an output layer applied per atom, as SchNet's, is pooled per
  molecule with the batch vector and the model's ``readout``). The training log then has
  ``triplets_mined`` and ``triplets_active`` (per batch, averaged over the epoch) from its
  ``last_stats``.
- A ``loss`` with a ``swa`` dict (``fraction``, ``epochs``, ``lr``, ``anneal_epochs``;
  :func:`cliffkit.loss.swa_settings`) adds **stochastic weight averaging** (Izmailov et
  al. 2018, ``torch.optim.swa_utils``) after early stopping: from the restored best
  checkpoint, ``epochs`` (default ``ceil(fraction × epochs trained)``) more epochs at
  the SWA learning rate (cosine anneal over ``anneal_epochs``), the weights averaged
  after each; BatchNorm statistics are then recomputed on the training set
  (``update_bn``) and the averaged weights become the model's. No early stopping, no
  ``epoch_callback`` in that phase; its log lines carry ``"phase": "swa"``, and a last
  line ``"phase": "swa-average"`` the averaged model's validation MAE/RMSE (also in
  ``TrainResult.extra``: ``swa_epochs``, ``swa_lr``, ``swa_val_mae``, ``swa_val_rmse``,
  ``swa_seconds``).
- ``batch_sampler``: an iterable of index lists over ``range(n_train)`` (e.g.
  :class:`cliffkit.loss.PairBatchSampler`), iterated once per epoch. Default: a seeded
  random permutation cut into ``batch_size`` chunks.
- ``epoch_callback(epoch, val_pred) -> dict | None`` runs after each epoch with the
  validation predictions in original units, shape ``(n_val,)``. From the returned dict,
  ``"sample_weight"`` (array ``(n_train,)``) replaces the weights from the next epoch on
  (adaptive λ), ``"stop": True`` ends training, and every other JSON-able scalar is
  written to the training log (e.g. ``{"lam": 0.3}``).
- Early stopping on validation MAE (``patience`` epochs), ReduceLROnPlateau on it, and the
  best checkpoint restored at the end. A non-finite loss or prediction, or a loss that
  explodes (``EXPLODED_LOSS_FACTOR``, ``EXPLODED_BATCH_LOSS``), raises
  :class:`~cliffkit.errors.TrainingDivergedError`.
- The training log has one JSON line per epoch: ``epoch, train_loss, val_mae, val_rmse,
  lr, best_val_mae, seconds, mol_per_s`` plus the callback's values.
- Determinism: the whole fit runs in a forked torch RNG seeded with ``random_state``
  (model init, dropout, shuffling), with ``torch.use_deterministic_algorithms`` on for CPU;
  two fits with the same seed on CPU give identical weights. CUDA runs are seeded but not
  bit-reproducible (scatter-add on CUDA is not deterministic).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import numbers
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError, TrainingDivergedError
from ..utils import Interval, Options, Params, is_seed, params_class

__all__ = ["Trainer", "TrainerParams", "TrainResult", "seeded", "resolve_device"]

#: A finite loss that has exploded: an epoch's mean training loss above this many times the
#: lowest epoch mean so far, or a batch loss above ``EXPLODED_BATCH_LOSS`` (the loss is on
#: standardised targets, where an untrained model starts near 1). Either raises
#: :class:`~cliffkit.errors.TrainingDivergedError`, like a NaN: the run is not a result.
EXPLODED_LOSS_FACTOR = 1e3
EXPLODED_BATCH_LOSS = 1e6


def resolve_device(device: Any = "auto"):
    """``"auto"`` → CUDA when available, else CPU; otherwise ``torch.device(device)``.

    Raises
    ------
    InvalidParameterError
        ``device`` is not a torch device name, or names a CUDA/MPS device that this
        machine's torch cannot use (a CPU-only build, no GPU, an index past the last GPU).
    """
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"device {device!r} is not a torch device ({exc}); use 'cpu', 'cuda', 'cuda:N' or "
            "'auto'."
        ) from None
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0 or (dev.index or 0) >= n:
            why = ("this torch build has no CUDA support" if torch.version.cuda is None
                   else f"this machine has {n} usable CUDA device(s)")
            raise InvalidParameterError(
                f"device {device!r} is not available: {why}; use device 'cpu' or 'auto' "
                "(--device cpu)."
            )
    elif dev.type == "mps" and not (getattr(torch.backends, "mps", None)
                                    and torch.backends.mps.is_available()):
        raise InvalidParameterError(
            f"device {device!r} is not available on this machine; use device 'cpu' or 'auto' "
            "(--device cpu)."
        )
    return dev


@contextlib.contextmanager
def seeded(seed: int, device: Any = None, deterministic: bool = True) -> Iterator[None]:
    """Run a block with torch's RNG forked and seeded, and deterministic algorithms on.

    The global RNG state and the deterministic-algorithms flag are restored afterwards.
    """
    import torch

    dev = resolve_device(device) if device is not None else torch.device("cpu")
    devices = [dev.index or 0] if dev.type == "cuda" else []
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns (the model itself is updated in place)."""

    history: list[dict[str, Any]]
    best_epoch: int
    best_val_mae: float
    y_mean: float
    y_std: float
    n_epochs: int
    seconds: float
    device: str
    stopped_early: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@params_class(kw_only=True)
class TrainerParams(Params):
    """The trainer settings a torch backbone takes as its own parameters (declared once).

    :class:`Trainer` adds its optimiser details; each torch backbone
    (:class:`cliffkit.models.TorchBackbone`) inherits these fields as keyword-only
    constructor parameters and may declare one again to change its default.

    Parameters
    ----------
    epochs : int, default=100
        Maximum number of epochs.
    batch_size : int, default=64
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    patience : int, default=20
        Epochs without a better validation MAE before stopping.
    criterion : {"mse", "l1"}, default="mse"
        Plain loss used when no ``loss`` object is passed.
    device : str, default="auto"
    random_state : int, default=0
    show_progress : bool or None, default=None
        tqdm bar over epochs; None shows it only on a terminal.
    """

    _parameter_constraints: ClassVar[dict] = {
        "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 2, None)],
        "lr": [Interval(float, 0.0, None, closed="neither")],
        "weight_decay": [Interval(float, 0.0, None)],
        "patience": [Interval(int, 1, None)],
        "criterion": [Options("mse", "l1")],
        "device": [str, None],
        "random_state": [is_seed],
        "show_progress": ["boolean", None],
    }

    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 20
    criterion: str = "mse"
    device: str | None = "auto"
    random_state: int = 0
    show_progress: bool | None = None

    def trainer_params(self) -> dict[str, Any]:
        """The :class:`TrainerParams` fields of this object, by name."""
        return {f.name: getattr(self, f.name) for f in fields(TrainerParams)}


@params_class(kw_only=True)
class Trainer(TrainerParams):
    """AdamW + ReduceLROnPlateau + early stopping on validation MAE (see module doc).

    Parameters
    ----------
    epochs, batch_size, lr, weight_decay, patience, criterion, device, random_state, show_progress
        As in :class:`TrainerParams`.
    lr_patience : int, default=5
        ReduceLROnPlateau patience.
    lr_factor : float, default=0.5
    min_lr : float, default=1e-5
    grad_clip : float or None, default=None
        Max gradient norm.
    eval_batch_size : int, default=1024
    """

    _parameter_constraints: ClassVar[dict] = {
        **TrainerParams._parameter_constraints,
        "lr_patience": [Interval(int, 0, None)],
        "lr_factor": [Interval(float, 0.0, 1.0, closed="neither")],
        "min_lr": [Interval(float, 0.0, None)],
        "grad_clip": [Interval(float, 0.0, None, closed="neither"), None],
        "eval_batch_size": [Interval(int, 1, None)],
    }

    lr_patience: int = 5
    lr_factor: float = 0.5
    min_lr: float = 1e-5
    grad_clip: float | None = None
    eval_batch_size: int = 1024

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        model: Any,
        train_inputs: Any,
        val_inputs: Any,
        y_train: Any,
        y_val: Any,
        *,
        sample_weight: Any = None,
        loss: Callable | None = None,
        pairs: Any = None,
        batch_sampler: Iterable | None = None,
        epoch_callback: Callable[[int, np.ndarray], dict | None] | None = None,
        log_path: str | Path | None = None,
        reset: bool = True,
    ) -> TrainResult:
        """Train ``model`` in place and return the :class:`TrainResult` (see module doc).

        Raises
        ------
        TrainingDivergedError
            The training loss or a validation prediction became NaN or infinite, or the
            loss exploded (an epoch mean over ``EXPLODED_LOSS_FACTOR`` times the lowest
            so far, or a batch loss over ``EXPLODED_BATCH_LOSS``).
        ShapeMismatchError
            Targets, weights or pairs do not match the inputs.
        """
        import torch

        self._validate_params()
        y_train = _check_1d(y_train, len(train_inputs), "y_train")
        y_val = _check_1d(y_val, len(val_inputs), "y_val")
        if len(y_val) == 0:
            raise InvalidParameterError(
                "Trainer.fit needs a non-empty validation set for early stopping; "
                "give the split a validation share."
            )
        if len(y_train) < 2:
            raise InvalidParameterError(
                f"Trainer.fit needs at least 2 training molecules; got {len(y_train)}."
            )
        weights = None if sample_weight is None else _check_weights(sample_weight, len(y_train))
        pair_arr = _check_pairs(pairs, len(y_train))
        dev = resolve_device(self.device)
        y_mean = float(y_train.mean())
        y_std = float(y_train.std())
        if not np.isfinite(y_std) or y_std < 1e-12:
            y_std = 1.0

        t0 = time.perf_counter()
        log_file = None
        if log_path is not None:
            log_path = Path(log_path)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = open(log_path, "w", encoding="utf-8")  # noqa: SIM115
        try:
            # deterministic kernels on CPU; on CUDA scatter-add has none (it would warn
            # on every batch), so GPU runs are seeded but not bit-reproducible
            with seeded(self.random_state, dev, deterministic=dev.type == "cpu"):
                result = self._loop(model, train_inputs, val_inputs, y_train, y_val, weights,
                                    loss, pair_arr, batch_sampler, epoch_callback, log_file,
                                    reset, dev, y_mean, y_std, torch)
        finally:
            if log_file is not None:
                log_file.close()
        result.seconds = time.perf_counter() - t0
        return result

    def _loop(self, model, train_inputs, val_inputs, y_train, y_val, weights, loss, pair_arr,
              batch_sampler, epoch_callback, log_file, reset, dev, y_mean, y_std, torch):
        from tqdm.auto import tqdm

        if reset and hasattr(model, "reset_parameters"):
            model.reset_parameters()
        model.to(dev)
        train_inputs = train_inputs.to(dev)
        val_inputs = val_inputs.to(dev)
        y_t = torch.as_tensor((y_train - y_mean) / y_std, dtype=torch.float32, device=dev)
        w_t = None if weights is None else torch.as_tensor(weights, dtype=torch.float32,
                                                            device=dev)
        pairs_t = None
        pos = None
        if pair_arr is not None:
            pairs_t = torch.as_tensor(pair_arr, dtype=torch.long, device=dev)
            pos = torch.full((len(y_train),), -1, dtype=torch.long, device=dev)
        if loss is not None and hasattr(loss, "to"):
            loss = loss.to(dev)

        params = list(model.parameters())
        # the fused kernel updates every tensor in one call: the per-tensor loop cost 10%
        # of a GIN step on CPU (profiled), the fused one 3%
        fused = dev.type in ("cpu", "cuda") and all(p.is_floating_point() for p in params)
        opt = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay,
                                fused=fused)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=self.lr_factor, patience=self.lr_patience,
            min_lr=self.min_lr)
        gen = torch.Generator().manual_seed(int(self.random_state))
        n = len(y_train)
        show = self.show_progress
        if show is None:
            show = sys.stderr.isatty()
        bar = tqdm(range(1, self.epochs + 1), desc="train", unit="epoch", disable=not show,
                   leave=False)
        history: list[dict[str, Any]] = []
        best_mae = math.inf
        best_epoch = 0
        best_state = None
        stopped_early = False
        latent = _LatentCapture(model) if getattr(loss, "needs_embedding", False) else None
        swa = _swa_config(loss)

        def run_epoch(epoch):
            if batch_sampler is not None:
                batches: Iterable = batch_sampler
            else:
                batches = torch.randperm(n, generator=gen).split(self.batch_size)
            return self._train_epoch(model, opt, batches, train_inputs, y_t, w_t, loss, pairs_t,
                                     pos, latent, epoch, dev, torch)

        for epoch in bar:
            t_ep = time.perf_counter()
            tot_loss, n_seen, extra = run_epoch(epoch)
            t_train = time.perf_counter() - t_ep
            epoch_loss = tot_loss / max(n_seen, 1)
            lowest = min((h["train_loss"] for h in history), default=math.inf)
            if 0 < lowest < math.inf and epoch_loss > EXPLODED_LOSS_FACTOR * lowest:
                raise TrainingDivergedError(
                    f"Training diverged at epoch {epoch}: the mean training loss exploded to "
                    f"{epoch_loss:.6g}, over {EXPLODED_LOSS_FACTOR:g} times its lowest epoch "
                    f"mean ({lowest:.6g}); lower the learning rate (lr={self.lr}). The run is "
                    "not a result."
                )
            val_pred = self._predict(model, val_inputs, y_mean, y_std, torch)
            if not np.all(np.isfinite(val_pred)):
                raise TrainingDivergedError(
                    f"Training diverged at epoch {epoch}: validation predictions are not "
                    f"finite; lower the learning rate (lr={self.lr}). The run is not a result."
                )
            err = val_pred - y_val
            val_mae = float(np.mean(np.abs(err)))
            val_rmse = float(np.sqrt(np.mean(err**2)))
            sched.step(val_mae)
            if val_mae < best_mae:
                best_mae, best_epoch = val_mae, epoch
                best_state = copy.deepcopy(model.state_dict())
            record: dict[str, Any] = {
                "epoch": epoch,
                "train_loss": epoch_loss,
                "val_mae": val_mae,
                "val_rmse": val_rmse,
                "lr": float(opt.param_groups[0]["lr"]),
                "best_val_mae": best_mae,
                "seconds": time.perf_counter() - t_ep,
                "mol_per_s": n_seen / t_train if t_train > 0 else float("nan"),
                **extra,
            }
            stop = False
            if epoch_callback is not None:
                out = epoch_callback(epoch, val_pred)
                if out:
                    if out.get("sample_weight") is not None:
                        new_w = _check_weights(out["sample_weight"], n)
                        w_t = torch.as_tensor(new_w, dtype=torch.float32, device=dev)
                    stop = bool(out.get("stop", False))
                    for k, v in out.items():
                        if k in ("sample_weight", "stop") or k in record:
                            continue
                        if isinstance(v, numbers.Number | str | bool | None):
                            record[k] = v.item() if isinstance(v, np.generic) else v
            history.append(record)
            if log_file is not None:
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
            bar.set_postfix(loss=f"{record['train_loss']:.4f}", val_mae=f"{val_mae:.4f}")
            if stop:
                stopped_early = True
                break
            if epoch - best_epoch >= self.patience:
                stopped_early = True
                break
        bar.close()
        if best_state is not None:
            model.load_state_dict(best_state)
        result_extra: dict[str, Any] = {}
        if swa is not None:
            result_extra = self._swa_phase(model, opt, swa, run_epoch, len(history),
                                           train_inputs, val_inputs, y_val, y_mean, y_std,
                                           history, log_file, n, dev, torch)
        model.eval()
        return TrainResult(history=history, best_epoch=best_epoch, best_val_mae=best_mae,
                           y_mean=y_mean, y_std=y_std, n_epochs=len(history), seconds=0.0,
                           device=str(dev), stopped_early=stopped_early, extra=result_extra)

    def _train_epoch(self, model, opt, batches, train_inputs, y_t, w_t, loss, pairs_t, pos,
                     latent, epoch, dev, torch):
        """One pass over ``batches``: (summed loss × batch size, molecules seen, log extras)."""
        if latent is None:
            return self._train_batches(model, opt, batches, train_inputs, y_t, w_t, loss,
                                       pairs_t, pos, None, epoch, dev, torch)
        latent.attach()  # the hook lives for this pass only, whatever happens in it
        try:
            return self._train_batches(model, opt, batches, train_inputs, y_t, w_t, loss,
                                       pairs_t, pos, latent, epoch, dev, torch)
        finally:
            latent.remove()

    def _train_batches(self, model, opt, batches, train_inputs, y_t, w_t, loss, pairs_t, pos,
                       latent, epoch, dev, torch):
        model.train()
        tot_loss = 0.0
        n_seen = 0
        n_batches = mined = active = 0
        for idx in batches:
            idx = torch.as_tensor(idx, dtype=torch.long).to(dev)
            if idx.numel() < 2:  # BatchNorm cannot train on one sample
                continue
            inputs = train_inputs.batch(idx)
            pred = model(inputs).reshape(-1)
            target = y_t[idx]
            w = None if w_t is None else w_t[idx]
            if loss is None:
                batch_loss = self._plain_loss(pred, target, w)
            else:
                pair_index = None
                if pairs_t is not None:
                    pos[idx] = torch.arange(idx.numel(), device=dev)
                    loc = pos[pairs_t]
                    pair_index = loc[(loc >= 0).all(dim=1)].t().contiguous()
                    pos[idx] = -1
                if latent is None:
                    batch_loss = loss(pred, target, weight=w, pair_index=pair_index)
                else:
                    batch_loss = loss(pred, target, weight=w, pair_index=pair_index,
                                      embedding=latent.take(pred.shape[0], inputs))
                    stats = getattr(loss, "last_stats", None) or {}
                    n_batches += 1
                    mined += int(stats.get("n_mined", 0))
                    active += int(stats.get("n_active", 0))
            loss_value = float(batch_loss.detach())
            if not math.isfinite(loss_value) or loss_value > EXPLODED_BATCH_LOSS:
                raise TrainingDivergedError(
                    f"Training diverged at epoch {epoch}: the loss became {loss_value:.6g}"
                    f"{' (exploded)' if math.isfinite(loss_value) else ''}; lower the "
                    f"learning rate (lr={self.lr}) or check the targets and weights. The run "
                    "is not a result."
                )
            opt.zero_grad(set_to_none=True)
            batch_loss.backward()
            if self.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
            opt.step()
            tot_loss += loss_value * idx.numel()
            n_seen += idx.numel()
        extra = {}
        if latent is not None and n_batches:
            extra = {"triplets_mined": mined / n_batches, "triplets_active": active / n_batches}
        return tot_loss, n_seen, extra

    def _swa_phase(self, model, opt, swa, run_epoch, n_trained, train_inputs, val_inputs, y_val,
                   y_mean, y_std, history, log_file, n, dev, torch) -> dict[str, Any]:
        """Stochastic weight averaging from the restored best checkpoint (see module doc)."""
        from torch.optim.swa_utils import SWALR, AveragedModel, update_bn

        n_swa = swa["epochs"] or max(1, math.ceil(swa["fraction"] * n_trained))
        swa_lr = swa["lr"] if swa["lr"] is not None else self.lr
        t0 = time.perf_counter()
        averaged = AveragedModel(model)
        sched = SWALR(opt, swa_lr=swa_lr, anneal_epochs=swa["anneal_epochs"],
                      anneal_strategy="cos")
        for k in range(1, n_swa + 1):
            t_ep = time.perf_counter()
            tot_loss, n_seen, extra = run_epoch(n_trained + k)
            t_train = time.perf_counter() - t_ep
            sched.step()
            averaged.update_parameters(model)
            record = {"epoch": n_trained + k, "phase": "swa",
                      "train_loss": tot_loss / max(n_seen, 1),
                      "lr": float(opt.param_groups[0]["lr"]),
                      "seconds": time.perf_counter() - t_ep,
                      "mol_per_s": n_seen / t_train if t_train > 0 else float("nan"), **extra}
            history.append(record)
            if log_file is not None:
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
        idx_all = torch.arange(n, device=dev)
        with torch.no_grad():  # BatchNorm statistics of the averaged weights (no-op without BN)
            update_bn((train_inputs.batch(i) for i in idx_all.split(self.eval_batch_size)),
                      averaged.module)
        model.load_state_dict(averaged.module.state_dict())
        val_pred = self._predict(model, val_inputs, y_mean, y_std, torch)
        if not np.all(np.isfinite(val_pred)):
            raise TrainingDivergedError(
                "Weight averaging gave non-finite validation predictions; lower the SWA "
                f"learning rate (lr={swa_lr}). The run is not a result."
            )
        err = val_pred - y_val
        out = {"swa_epochs": n_swa, "swa_lr": swa_lr,
               "swa_val_mae": float(np.mean(np.abs(err))),
               "swa_val_rmse": float(np.sqrt(np.mean(err**2))),
               "swa_seconds": time.perf_counter() - t0}
        record = {"epoch": n_trained + n_swa, "phase": "swa-average", **out}
        if log_file is not None:  # a summary line, not an epoch: in the log, not the history
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()
        return out

    def _plain_loss(self, pred, target, w):
        diff = pred - target
        el = diff.abs() if self.criterion == "l1" else diff.square()
        if w is None:
            return el.mean()
        return (el * w).sum() / w.sum().clamp_min(1e-12)

    # -------------------------------------------------------------- predict
    def predict(self, model: Any, inputs: Any, y_mean: float = 0.0, y_std: float = 1.0):
        """Predictions in original units, float64 array of shape ``(len(inputs),)``."""
        import torch

        dev = resolve_device(self.device)
        model.to(dev)
        inputs = inputs.to(dev)
        return self._predict(model, inputs, y_mean, y_std, torch)

    def _predict(self, model, inputs, y_mean, y_std, torch) -> np.ndarray:
        was_training = model.training
        model.eval()
        n = len(inputs)
        dev = next((p.device for p in model.parameters()), torch.device("cpu"))
        outs = []
        with torch.no_grad():
            for idx in torch.arange(n, device=dev).split(self.eval_batch_size):
                outs.append(model(inputs.batch(idx)).reshape(-1).float().cpu())
        model.train(was_training)
        if not outs:
            return np.zeros(0)
        pred = torch.cat(outs).numpy().astype(np.float64)
        return pred * y_std + y_mean


class _LatentCapture:
    """Forward pre-hook on the model's output layer that keeps its input in training mode."""

    def __init__(self, model: Any) -> None:
        from ..models._torch import latent_layer

        self.value = None
        self._model = model
        self._layer = latent_layer(model)
        self._handle = None

    def attach(self) -> None:
        self._handle = self._layer.register_forward_pre_hook(self._hook)

    def _hook(self, module, args):
        if self._model.training:
            self.value = args[0]

    def take(self, n_rows: int, inputs: Any = None):
        """The embeddings of the last training forward pass, shape (n_rows, d).

        An output layer applied per atom (SchNet: ŷ = readout over atoms of a linear map)
        gives one row per atom; they are pooled per molecule with the model's ``readout``
        (sum unless it is ``"mean"``), using the batch vector of ``inputs``: the linear
        output layer then maps the pooled vector to the molecule's prediction.
        """
        emb, self.value = self.value, None
        batch = getattr(inputs, "batch", None)
        if (emb is not None and emb.dim() == 2 and emb.shape[0] != n_rows
                and batch is not None and batch.shape[0] == emb.shape[0]):
            pooled = emb.new_zeros(n_rows, emb.shape[1]).index_add_(0, batch, emb)
            if getattr(self._model, "readout", "add") == "mean":
                import torch

                counts = torch.bincount(batch, minlength=n_rows).clamp_(min=1)
                pooled = pooled / counts.unsqueeze(1).to(pooled.dtype)
            emb = pooled
        if emb is None or emb.dim() != 2 or emb.shape[0] != n_rows:
            got = None if emb is None else tuple(emb.shape)
            raise InvalidParameterError(
                f"The loss needs one latent embedding per molecule ({n_rows} rows) at the input "
                f"of {type(self._model).__name__}'s output layer; got {got}. Set the "
                "module's 'latent_layer' attribute to a layer that sees one row per molecule."
            )
        return emb

    def remove(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self.value = None


def _swa_config(loss: Any) -> dict[str, Any] | None:
    """The validated ``swa`` settings a loss carries, or None."""
    cfg = getattr(loss, "swa", None)
    if cfg is None:
        return None
    from ..loss import swa_settings

    return swa_settings(cfg)


def _check_1d(y: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64).reshape(-1)
    if arr.shape[0] != n:
        raise ShapeMismatchError(f"Trainer.fit: {name} has {arr.shape[0]} values for {n} inputs.")
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"Trainer.fit: {name} holds NaN or infinite values.")
    return arr


def _check_weights(w: Any, n: int) -> np.ndarray:
    arr = np.asarray(w, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ShapeMismatchError(
            f"sample_weight has shape {arr.shape}; expected one value per training molecule, "
            f"shape ({n},)."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or arr.sum() <= 0:
        raise InvalidParameterError(
            "sample_weight must be finite and non-negative with a positive sum."
        )
    return arr


def _check_pairs(pairs: Any, n: int) -> np.ndarray | None:
    if pairs is None:
        return None
    arr = np.asarray(pairs, dtype=np.int64)
    if arr.size == 0:
        return None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ShapeMismatchError(f"pairs must have shape (n_pairs, 2); got {arr.shape}.")
    if arr.min() < 0 or arr.max() >= n:
        raise ShapeMismatchError(
            f"pairs hold indices outside the training set (0..{n - 1})."
        )
    return arr
