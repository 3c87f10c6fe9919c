"""Chemprop adapter: the files and flags it hands to chemprop, errors, and a real run.

A stand-in ``chemprop`` script records what the adapter passes (always runs); the real
chemprop 2.x run needs the ``chemprop`` extra or ``CLIFFKIT_CHEMPROP`` pointing at a
chemprop CLI, and is skipped otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from cliffkit.errors import InvalidParameterError, MissingDependencyError
from cliffkit.models._chemprop import ChempropBackbone, ChempropError, fit_chemprop_split

FAKE = textwrap.dedent("""
    import json, os, shutil, sys
    from pathlib import Path
    args = sys.argv[1:]
    rec = Path(os.environ["FAKE_CHEMPROP_RECORD"])
    rec.mkdir(parents=True, exist_ok=True)
    def opt(name):
        return args[args.index(name) + 1]
    if args[0] == "train":
        (rec / "train_args.json").write_text(json.dumps(args))
        shutil.copy(opt("--data-path"), rec / "data.csv")
        shutil.copy(opt("--splits-file"), rec / "splits.json")
        model = Path(opt("--output-dir")) / "model_0"
        model.mkdir(parents=True)
        (model / "best.pt").write_bytes(b"weights-of-a-fake-model")
        import pandas as pd
        data = pd.read_csv(opt("--data-path"))
        test = json.loads(Path(opt("--splits-file")).read_text())[0]["test"]
        out = data.iloc[test][["smiles"]].copy()
        out["target"] = [len(s) for s in out["smiles"]]
        out.to_csv(model / "test_predictions.csv", index=False)
    elif args[0] == "predict":
        (rec / "predict_args.json").write_text(json.dumps(args))
        assert Path(opt("--model-paths")).read_bytes() == b"weights-of-a-fake-model"
        import pandas as pd
        frame = pd.read_csv(opt("--test-path"))
        frame["target"] = [len(s) for s in frame["smiles"]]
        frame.to_csv(opt("--output"), index=False)
    else:
        print("unknown verb", file=sys.stderr); sys.exit(3)
""")


@pytest.fixture()
def fake_chemprop(tmp_path, monkeypatch):
    script = tmp_path / "fake_chemprop.py"
    script.write_text(FAKE)
    record = tmp_path / "record"
    monkeypatch.setenv("FAKE_CHEMPROP_RECORD", str(record))
    monkeypatch.setenv("CLIFFKIT_CHEMPROP", f"{sys.executable} {script}")
    return record


@pytest.fixture(scope="module")
def lipo():
    from cliffkit.data import load_dataset

    ds = load_dataset("lipophilicity")
    idx = np.random.default_rng(0).permutation(len(ds))[:100]
    return ds.subset(idx[:80]), ds.subset(idx[80:])


def test_weights_splits_and_flags_reach_chemprop(fake_chemprop, lipo, tmp_path):
    train, val = lipo
    w = np.linspace(1.0, 3.0, len(train))
    model = ChempropBackbone(hidden_channels=64, num_layers=4, epochs=7, patience=3)
    model.fit(train, val, sample_weight=w)
    data = pd.read_csv(fake_chemprop / "data.csv")
    assert data["smiles"].tolist() == [*train.smiles, *val.smiles]
    np.testing.assert_allclose(data["target"], np.concatenate([train.y[:, 0], val.y[:, 0]]))
    # Training weights keep their ratios, rescaled to mean 1; validation weights are 1.
    np.testing.assert_allclose(data["weight"][:80], w / w.mean())
    np.testing.assert_allclose(data["weight"][80:], 1.0)
    splits = json.loads((fake_chemprop / "splits.json").read_text())
    assert splits == [{"train": list(range(80)), "val": list(range(80, 100)), "test": []}]
    args = json.loads((fake_chemprop / "train_args.json").read_text())
    pairs = dict(zip(args[1::1], args[2::1], strict=False))
    assert pairs["--weight-column"] == "weight" and pairs["--target-columns"] == "target"
    assert pairs["--message-hidden-dim"] == "64" and pairs["--depth"] == "4"
    assert pairs["--epochs"] == "7" and pairs["--patience"] == "3"
    assert pairs["--aggregation"] == "mean" and pairs["--task-type"] == "regression"
    pred = model.predict(val)
    np.testing.assert_array_equal(pred, [len(s) for s in val.smiles])
    # Save and load keep the chemprop model file.
    loaded = ChempropBackbone.load(model.save(tmp_path / "saved"))
    np.testing.assert_array_equal(loaded.predict(list(val.smiles)), pred)


def test_fit_chemprop_split_uses_our_split(fake_chemprop, tmp_path):
    from cliffkit.data import load_dataset
    from cliffkit.split import RandomSplit

    ds = load_dataset("freesolv")
    split = RandomSplit(test_size=0.2, val_size=0.1, random_state=0).make_split(ds)
    split_path = split.save(tmp_path / "split.json")
    w = np.arange(1, len(split.train) + 1, dtype=float)
    model, test_pred = fit_chemprop_split(ds, split_path, sample_weight=w,
                                          output_dir=tmp_path / "run", epochs=3)
    splits = json.loads((fake_chemprop / "splits.json").read_text())[0]
    assert splits == {k: getattr(split, k).tolist() for k in ("train", "val", "test")}
    data = pd.read_csv(fake_chemprop / "data.csv")
    assert data["smiles"].tolist() == list(ds.smiles)
    np.testing.assert_allclose(data["weight"].to_numpy()[split.train], w / w.mean())
    mask = np.ones(len(ds), bool)
    mask[split.train] = False
    np.testing.assert_allclose(data["weight"].to_numpy()[mask], 1.0)
    np.testing.assert_array_equal(test_pred, [len(s) for s in ds.smiles[split.test]])
    assert model.target_ == ds.target_names[0]


def test_unsupported_arguments_and_failures(fake_chemprop, lipo, monkeypatch):
    train, val = lipo
    with pytest.raises(InvalidParameterError, match="'pairs' argument of ChempropBackbone.fit"):
        ChempropBackbone(epochs=2).fit(train, val, pairs=np.array([[0, 1]]))
    with pytest.raises(InvalidParameterError, match="'aggr' parameter of ChempropBackbone"):
        ChempropBackbone(aggr="max").fit(train, val)
    monkeypatch.setenv("CLIFFKIT_CHEMPROP", f"{sys.executable} -c \"import sys; sys.exit(5)\"")
    with pytest.raises(ChempropError, match="exited with code 5"):
        ChempropBackbone(epochs=2).fit(train, val)


def test_missing_chemprop_names_the_extra(lipo, monkeypatch):
    train, val = lipo
    monkeypatch.delenv("CLIFFKIT_CHEMPROP", raising=False)
    monkeypatch.setitem(sys.modules, "chemprop", None)  # import fails
    with pytest.raises(MissingDependencyError, match=r"pip install -c constraints.txt -e '\.\[chemprop\]'"):
        ChempropBackbone(epochs=2).fit(train, val)


def _real_chemprop_available() -> bool:
    if os.environ.get("CLIFFKIT_CHEMPROP"):
        return True
    try:
        import chemprop  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(not _real_chemprop_available(),
                    reason="chemprop not installed (pip install -c constraints.txt -e '.[chemprop]') and "
                           "CLIFFKIT_CHEMPROP not set")
def test_real_chemprop_round_trip(lipo):
    train, val = lipo
    model = ChempropBackbone(hidden_channels=32, ffn_hidden_channels=32, epochs=3)
    model.fit(train, val, sample_weight=np.linspace(1.0, 2.0, len(train)))
    pred = model.predict(val)
    assert pred.shape == (len(val),) and np.all(np.isfinite(pred))
    assert abs(pred.mean() - train.y.mean()) < 1.5
