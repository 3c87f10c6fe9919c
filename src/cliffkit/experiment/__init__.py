"""One experiment seam (``cliffkit.experiment``): dataset + split + backbone + loss + seed.

- :func:`build_loss`: the LossSpec of a loss on a split's training set, at the split's
  own similarity parameters (``SplitResult.similarity_params``).
- :func:`fit`, :func:`predict_test`, :func:`run_experiment`: fit with that loss, predict
  the test set and the partners, evaluate.
- :func:`out_of_fold_partner_predictions`: the partners predicted by models that did not
  train on them (for the pair direction accuracy, which in-sample predictions make
  impossible to fail).

``cliffkit train``, ``cliffkit weights`` and the bench cell call these functions; nothing
else assembles a loss from a split.
"""

from ._experiment import (
    VAL_FRACTION,
    ExperimentResult,
    build_backbone,
    build_loss,
    fit,
    out_of_fold_partner_predictions,
    predict_test,
    run_experiment,
    with_validation,
)

__all__ = ["VAL_FRACTION", "ExperimentResult", "build_backbone", "build_loss", "fit",
           "out_of_fold_partner_predictions", "predict_test", "run_experiment",
           "with_validation"]
