"""One target's own molecules: the view that training and scoring use on multi-target data.

A multi-target :class:`~cliffkit.data.Dataset` keeps a molecule that has a value for
only some targets (NaN for the others). Everything that works on one target (fitting a
backbone, loss weights, scoring) uses :func:`labelled_view`: the molecules that have the
target's value, with the split restricted to them, so no missing label is trained on or
scored and no valid value of another target is lost.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._result import SplitResult

__all__ = ["labelled_view"]


def labelled_view(split: SplitResult, dataset, target: str | int | None = None):
    """Restrict ``dataset`` and ``split`` to the molecules that have ``target``'s value.

    Parameters
    ----------
    split : SplitResult
        A split of ``dataset``.
    dataset : Dataset
    target : str or int, optional
        Target name or position (None: the dataset's only target).

    Returns
    -------
    dataset_t : Dataset
        ``dataset.subset(rows)`` (the same object when every molecule is labelled).
    split_t : SplitResult
        The split over those rows (indices renumbered; labels of ``target`` only, partners
        renumbered; its dataset checksum is that of ``dataset_t``).
    rows : numpy.ndarray of int64
        Positions of the kept molecules in ``dataset``.

    Examples
    --------
    >>> import numpy as np
    >>> from cliffkit.data import Dataset
    >>> from cliffkit.split import RandomSplit
    >>> smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "CCCCCCO", "CCCCCCCO"]
    >>> y = np.array([[1, 2], [2, np.nan], [3, 1], [4, np.nan], [5, 3], [6, 2]])
    >>> ds = Dataset("d", smiles, y, ["a", "b"], ["", ""])
    >>> split = RandomSplit(test_size=0.34, val_size=0.0, min_similarity=0.2,
    ...                     random_state=0).make_split(ds)
    >>> ds_b, split_b, rows = labelled_view(split, ds, "b")
    >>> len(ds_b), rows.tolist()
    (4, [0, 2, 4, 5])
    """
    t = dataset.target_index(target)
    name = dataset.target_names[t]
    has = dataset.labelled(t)
    n = len(dataset)
    if has.all():
        return dataset, split, np.arange(n, dtype=np.int64)
    rows = np.flatnonzero(has).astype(np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    pos[rows] = np.arange(rows.size)
    ds_t = dataset.subset(rows)

    def remap(idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        return pos[idx[has[idx]]]

    labels = {}
    if name in split.labels:
        lab = split.labels[name]
        fields = {}
        for f in dataclasses.fields(lab):
            v = getattr(lab, f.name)
            if isinstance(v, np.ndarray) and v.shape[:1] == (n,):
                v = v[rows]
            fields[f.name] = v
        p = fields["partner"]
        fields["partner"] = np.where(p >= 0, pos[np.maximum(p, 0)], -1)
        labels[name] = type(lab)(**fields)
    out = SplitResult(
        train=remap(split.train), val=remap(split.val), test=remap(split.test),
        smiles=np.asarray(split.smiles, dtype=object)[rows],
        target_names=[name] if labels else [], labels=labels, method=split.method,
        params=dict(split.params),
        dataset={**split.dataset, "checksum": ds_t.checksum, "n_samples": int(rows.size),
                 "labelled_view_of": split.dataset.get("checksum", ""), "target": name},
        cliff_share=split.cliff_share, info=split.info,
    )
    return ds_t, out, rows
