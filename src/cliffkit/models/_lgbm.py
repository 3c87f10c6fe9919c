"""``lgbm``: LightGBM gradient boosting on ECFP bits, with sample weights and early stopping.

Adaptive λ for boosting: with an ``epoch_callback`` the booster trains in blocks of
``rounds_per_block`` rounds (``lgb.train(..., init_model=booster)``, which continues from
the current trees); after each block the callback gets the validation predictions and may
return new ``sample_weight`` for the next block (a new ``lgb.Dataset`` with the same bins).
Early stopping counts rounds across blocks. Without a callback one ``lgb.train`` call with
LightGBM's own early stopping is used.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidParameterError
from ..similarity import N_BITS, RADIUS
from ..utils import Interval, Options, atomic_write_text, is_seed, params_class
from ._base import Backbone, apply_epoch_callback, refuse_pair_training
from ._featurize import ecfp_features
from ._registry import register_backbone

__all__ = ["LGBMBackbone"]

MODEL_FILE = "model.txt"

_OBJECTIVES = {"mse": "regression", "l2": "regression", "l1": "regression_l1",
               "huber": "huber"}


@register_backbone("lgbm")
@params_class
class LGBMBackbone(Backbone):
    """``lgbm``: LightGBM regression on ECFP bits.

    Parameters
    ----------
    n_estimators : int, default=2000
        Maximum boosting rounds (early stopping picks the best).
    learning_rate : float, default=0.05
    num_leaves : int, default=63
    min_child_samples : int, default=10
    colsample_bytree : float, default=0.3
    subsample : float, default=1.0
        Row subsampling per round (``bagging_fraction``; every round when < 1).
    reg_lambda : float, default=1.0
    objective : {"mse", "l1", "huber"}, default="mse"
        Used when no ``loss`` is given; with a ``loss`` object its ``base`` is used.
    early_stopping_rounds : int, default=100
        Stop after this many rounds without a better validation MAE.
    rounds_per_block : int, default=50
        Block length when an ``epoch_callback`` re-weights during training.
    radius, n_bits : int, default=2, 2048
    n_jobs : int or None, default=None
        LightGBM threads (None: LightGBM's default).
    random_state : int, default=0
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_estimators": [Interval(int, 1, None)],
        "learning_rate": [Interval(float, 0.0, None, closed="neither")],
        "num_leaves": [Interval(int, 2, None)],
        "min_child_samples": [Interval(int, 1, None)],
        "colsample_bytree": [Interval(float, 0.0, 1.0, closed="right")],
        "subsample": [Interval(float, 0.0, 1.0, closed="right")],
        "reg_lambda": [Interval(float, 0.0, None)],
        "objective": [Options("mse", "l1", "huber")],
        "early_stopping_rounds": [Interval(int, 1, None)],
        "rounds_per_block": [Interval(int, 1, None)],
        "radius": [Interval(int, 0, None)],
        "n_bits": [Interval(int, 8, None)],
        "n_jobs": [Interval(int, 1, None), None],
        "random_state": [is_seed],
    }

    n_estimators: int = 2000
    learning_rate: float = 0.05
    num_leaves: int = 63
    min_child_samples: int = 10
    colsample_bytree: float = 0.3
    subsample: float = 1.0
    reg_lambda: float = 1.0
    objective: str = "mse"
    early_stopping_rounds: int = 100
    rounds_per_block: int = 50
    radius: int = RADIUS
    n_bits: int = N_BITS
    n_jobs: int | None = None
    random_state: int = 0

    def _features(self, smiles: list[str]) -> np.ndarray:
        return ecfp_features(smiles, radius=self.radius, n_bits=self.n_bits).astype(np.float32)

    def _lgb_params(self, loss: Any) -> dict[str, Any]:
        objective = self.objective
        params: dict[str, Any] = {}
        if loss is not None:
            base = str(getattr(loss, "base", objective)).lower()
            if base not in _OBJECTIVES:
                raise InvalidParameterError(
                    f"The lgbm backbone supports the loss bases mse, l1 and huber; got {base!r}."
                )
            objective = base
            if base == "huber":
                params["alpha"] = float(getattr(loss, "delta", 1.0))
        params.update({
            "objective": _OBJECTIVES[objective],
            "learning_rate": float(self.learning_rate),
            "num_leaves": int(self.num_leaves),
            "min_child_samples": int(self.min_child_samples),
            "feature_fraction": float(self.colsample_bytree),
            "lambda_l2": float(self.reg_lambda),
            "metric": "l1",
            "seed": int(self.random_state),
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        })
        if self.subsample < 1.0:
            params.update(bagging_fraction=float(self.subsample), bagging_freq=1)
        if self.n_jobs is not None:
            params["num_threads"] = int(self.n_jobs)
        return params

    def _fit(self, smiles_tr, y_tr, smiles_va, y_va, *, sample_weight=None, loss=None,
             pairs=None, batch_sampler=None, epoch_callback=None, log_path=None) -> None:
        import lightgbm as lgb

        refuse_pair_training("lgbm", loss, batch_sampler)
        params = self._lgb_params(loss)
        t0 = time.perf_counter()
        X_tr = self._features(smiles_tr)
        X_va = self._features(smiles_va)
        history: list[dict[str, Any]] = []
        if epoch_callback is None:
            evals: dict = {}
            train_set = lgb.Dataset(X_tr, y_tr, weight=sample_weight, free_raw_data=False)
            val_set = lgb.Dataset(X_va, y_va, reference=train_set)
            booster = lgb.train(
                params, train_set, num_boost_round=self.n_estimators, valid_sets=[val_set],
                valid_names=["val"],
                callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False),
                           lgb.record_evaluation(evals)],
            )
            maes = evals["val"]["l1"]
            best_iter = int(booster.best_iteration) or len(maes)
            for i in range(0, len(maes), self.rounds_per_block):
                j = min(i + self.rounds_per_block, len(maes))
                history.append({"epoch": len(history) + 1, "rounds": j,
                                "val_mae": float(maes[j - 1]),
                                "best_val_mae": float(min(maes[:j]))})
        else:
            booster, best_iter = self._fit_blocks(lgb, params, X_tr, y_tr, X_va, y_va,
                                                  sample_weight, epoch_callback, history)
        self.booster_ = booster
        self.best_iteration_ = best_iter
        self.best_epoch_ = best_iter
        self.best_val_mae_ = float(np.mean(np.abs(self._predict_X(X_va) - y_va)))
        self.history_ = history
        self.fit_seconds_ = time.perf_counter() - t0
        if log_path is not None:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(log_path, "".join(json.dumps(r) + "\n" for r in history))

    def _fit_blocks(self, lgb, params, X_tr, y_tr, X_va, y_va, weight, callback, history):
        base = lgb.Dataset(X_tr, y_tr, weight=weight, free_raw_data=False).construct()
        booster = None
        best_mae, best_iter, done = np.inf, 0, 0
        block = 0
        while done < self.n_estimators and done - best_iter < self.early_stopping_rounds:
            n_round = min(self.rounds_per_block, self.n_estimators - done)
            train_set = lgb.Dataset(X_tr, y_tr, weight=weight, reference=base,
                                    free_raw_data=False)
            val_set = lgb.Dataset(X_va, y_va, reference=base, free_raw_data=False)
            evals: dict = {}
            # init_model continues from the current trees (LightGBM sets the init scores
            # of both sets from them and merges them into the returned booster)
            booster = lgb.train(params, train_set, num_boost_round=n_round,
                                valid_sets=[val_set], valid_names=["val"],
                                init_model=booster, keep_training_booster=True,
                                callbacks=[lgb.record_evaluation(evals)])
            for i, mae in enumerate(evals["val"]["l1"]):
                if mae < best_mae:
                    best_mae, best_iter = float(mae), done + i + 1
            done += n_round
            block += 1
            val_pred = booster.predict(X_va)
            record = {"epoch": block, "rounds": done,
                      "val_mae": float(np.mean(np.abs(val_pred - y_va))),
                      "best_val_mae": best_mae}
            out = callback(block, np.asarray(val_pred, dtype=np.float64))
            weight, stop = apply_epoch_callback(out, record, history, weight, len(y_tr))
            if stop:
                break
        booster.best_iteration = best_iter
        return booster, best_iter

    def _predict_X(self, X: np.ndarray) -> np.ndarray:
        return self.booster_.predict(X, num_iteration=self.best_iteration_)

    def _predict(self, smiles: list[str]) -> np.ndarray:
        return self._predict_X(self._features(smiles))

    def _fitted_state(self) -> dict[str, Any]:
        return {"best_iteration_": int(self.best_iteration_),
                "best_val_mae_": getattr(self, "best_val_mae_", None)}

    def _save_weights(self, path: Path) -> None:
        text = self.booster_.model_to_string(num_iteration=self.best_iteration_)
        atomic_write_text(path / MODEL_FILE, text)

    def _load_weights(self, path: Path) -> None:
        import lightgbm as lgb

        self.booster_ = lgb.Booster(model_str=(path / MODEL_FILE).read_text())
        self.best_iteration_ = self.booster_.current_iteration()
