"""Contract tests parametrised over every registry entry.

A new splitter, backbone, loss or cliff definition is tested here as soon as it is
registered: parameters (strict constraints, get/set, clone, repr, bad values),
determinism and output shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

from cliffkit.cliffs import get_cliff_definition, list_cliff_definitions
from cliffkit.errors import CliffkitError, InvalidParameterError, UnknownNameError
from cliffkit.loss import LossSpec, list_losses, make_loss
from cliffkit.models import get_backbone_class, list_backbones
from cliffkit.split import get_splitter, list_splitters
from cliffkit.utils import Registry

pytestmark = pytest.mark.filterwarnings("ignore::cliffkit.errors.SplitWarning")

SMILES = ["CCO", "CCCO", "CCCCO", "CCCCCO", "CCN", "CCCN", "CCCCN", "CCCCCN",
          "c1ccccc1", "c1ccccc1O", "c1ccccc1N", "c1ccccc1C", "c1ccncc1", "c1ccncc1O",
          "OCC(O)CO", "CC(=O)O", "CC(=O)N", "CC(=O)OC", "CCOC(=O)C", "CCCC(=O)O"]
Y = np.linspace(0.0, 3.0, len(SMILES)) ** 2


# ------------------------------------------------------------------ Registry
def test_registry_normalises_suggests_and_refuses_a_second_object():
    reg = Registry("thing")

    @reg.register("Two_Words")
    def a():
        return 1

    assert reg.get(" two-words ") is a and "TWO_WORDS" in reg and reg.list() == ["two-words"]
    with pytest.raises(UnknownNameError, match="Did you mean 'two-words'"):
        reg.get("two-word")

    def b():
        return 2

    with pytest.raises(InvalidParameterError, match="already registered"):
        reg.register("two-words", b)
    reg.register("two-words", b, overwrite=True)
    assert reg.get("two-words") is b


def test_registry_imports_a_builtin_on_first_use():
    reg = Registry("module", builtins={"json-mod": "json"})
    assert reg.list() == ["json-mod"]
    with pytest.raises(UnknownNameError):  # json registers nothing in this registry
        reg.get("json-mod")


# ---------------------------------------------------------------- splitters
#: Splitters that cannot split without inputs of their own (a given assignment).
_SPLIT_ARGS = {"predefined": {"train_idx": list(range(14)), "test_idx": list(range(14, 20))}}


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    from cliffkit.data import load_dataset

    path = tmp_path_factory.mktemp("contract") / "small.csv"
    path.write_text("smiles,y\n" + "".join(f"{s},{float(v)!r}\n" for s, v in zip(SMILES, Y, strict=True)))
    return load_dataset(path)


@pytest.mark.parametrize("name", list_splitters())
def test_splitter_contract(name, small_data):
    args = _SPLIT_ARGS.get(name, {"test_size": 0.2, "val_size": 0.1})
    sp = get_splitter(name, random_state=0, **args)
    cls = type(sp)
    assert set(cls._parameter_constraints) == set(cls._param_names())
    clone = cls(**sp.get_params())
    assert repr(clone) == repr(sp) and clone.get_params() == sp.get_params()
    assert sp.set_params(random_state=1) is sp and sp.random_state == 1
    with pytest.raises(CliffkitError):
        sp.set_params(no_such_parameter=1)
    data = small_data
    with pytest.raises(InvalidParameterError):
        get_splitter(name, **{**args, "min_similarity": 1.5}).make_split(data)
    a = get_splitter(name, random_state=0, **args).make_split(data)
    b = get_splitter(name, random_state=0, **args).make_split(data)
    assert a.to_json() == b.to_json()  # byte-identical split files
    assert sorted(np.concatenate([a.train, a.val, a.test]).tolist()) == list(range(len(data)))
    assert a.similarity_params["min_similarity"] == sp.min_similarity


# ---------------------------------------------------------------- backbones
@pytest.mark.parametrize("name", list_backbones())
def test_backbone_parameter_contract(name):
    cls = get_backbone_class(name)
    assert cls.name == name
    assert set(cls._parameter_constraints) == set(cls._param_names())
    model = cls()
    clone = cls(**model.get_params())
    assert repr(clone) == repr(model)
    with pytest.raises(CliffkitError, match="no_such_parameter"):
        model.set_params(no_such_parameter=1)


@pytest.mark.parametrize("cls", ["trainer", "adaptive"])
def test_trainer_and_controller_share_the_parameter_base(cls):
    from cliffkit.loss import AdaptiveLambda
    from cliffkit.train import Trainer
    from cliffkit.utils import Params

    klass = {"trainer": Trainer, "adaptive": AdaptiveLambda}[cls]
    obj = klass()
    assert isinstance(obj, Params)
    assert set(klass._parameter_constraints) == set(klass._param_names())
    assert repr(klass(**obj.get_params())) == repr(obj)
    with pytest.raises(CliffkitError):
        obj.set_params(no_such_parameter=1)
    with pytest.raises(InvalidParameterError):
        klass(**{**obj.get_params(), next(iter(obj.get_params())): -5})._validate_params()


# ------------------------------------------------------------------- losses
@pytest.mark.parametrize("name", list_losses())
def test_loss_contract(name):
    from cliffkit.cliffs import compute_severity
    from cliffkit.similarity import compute_fingerprints, find_neighbors

    graph = find_neighbors(compute_fingerprints(SMILES), k=4, min_similarity=0.2)
    sev = compute_severity(graph, Y)
    extra = {}
    if name == "cliff-adaptive":
        extra = dict(y_val=Y[:4], val_cliff_mask=np.array([1, 0, 1, 0], bool),
                     val_smooth_mask=np.array([0, 1, 0, 1], bool))
    pairs = np.array([[0, 1], [2, 3]])
    spec = make_loss(name, Y, severity=sev, pairs=pairs, random_state=0, **extra)
    again = make_loss(name, Y, severity=sev, pairs=pairs, random_state=0, **extra)
    assert isinstance(spec, LossSpec) and repr(spec).startswith(f"LossSpec({name!r}")
    w = spec.sample_weight(mean_one=True)
    assert w.shape == (len(SMILES),) and np.all(np.isfinite(w)) and np.all(w > 0)
    assert w.mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(w, again.sample_weight(mean_one=True))
    with pytest.raises(InvalidParameterError):
        make_loss(name, Y, severity=sev, pairs=pairs, lam=-1.0, **extra)


@pytest.mark.parametrize("name", list_losses())
def test_loss_fit_kwargs_contract(name):
    """Every loss gives ``Backbone.fit`` arguments for a torch backbone; for LightGBM either
    arguments or a one-line InvalidParameterError (the losses that act in the torch loop)."""
    import inspect

    from cliffkit.cliffs import compute_severity
    from cliffkit.models import Backbone, get_backbone
    from cliffkit.similarity import compute_fingerprints, find_neighbors

    sev = compute_severity(find_neighbors(compute_fingerprints(SMILES), k=4, min_similarity=0.2), Y)
    extra = {}
    if name == "cliff-adaptive":
        extra = dict(y_val=Y[:4], val_cliff_mask=np.array([1, 0, 1, 0], bool),
                     val_smooth_mask=np.array([0, 1, 0, 1], bool))
    spec = make_loss(name, Y, severity=sev, pairs=np.array([[0, 1], [2, 3]]), random_state=0,
                     **extra)
    accepted = set(inspect.signature(Backbone.fit).parameters)
    assert set(spec.fit_kwargs(get_backbone("mlp"))) <= accepted
    try:
        kwargs = spec.fit_kwargs(get_backbone("lgbm"))
    except InvalidParameterError as exc:
        assert "\n" not in str(exc) and "torch trainer" in str(exc)
        assert getattr(spec, "needs_torch_trainer", False) or spec.uses_pairs
    else:
        assert set(kwargs) <= accepted and "loss" not in kwargs


# -------------------------------------------------------- cliff definitions
@pytest.mark.parametrize("name", list_cliff_definitions())
def test_cliff_definition_contract(name):
    from cliffkit.similarity import compute_fingerprints, find_neighbors

    rule = get_cliff_definition(name)
    assert rule.name == name and repr(rule).endswith(")")
    graph = find_neighbors(compute_fingerprints(SMILES), k=4, min_similarity=0.2)
    sev = rule.severity(graph, Y)
    assert sev.severity.shape == (len(SMILES),)
    assert np.all(np.isfinite(sev.severity)) and np.all(sev.severity >= 0)
    assert np.all(sev.severity[~sev.supported] == 0)
    ok = sev.partner >= 0
    assert np.all(ok == sev.supported) and np.all(sev.partner[ok] < len(SMILES))
    np.testing.assert_array_equal(sev.severity, rule.severity(graph, Y).severity)
    pairs = rule.pairs(graph, Y, quantile=0.5, scale=sev.scale)
    assert pairs.dtype == np.int64 and pairs.ndim == 2 and pairs.shape[1] == 2
    assert np.all(pairs[:, 0] < pairs[:, 1]) and np.all(pairs < len(SMILES))
    with pytest.raises(UnknownNameError):
        get_cliff_definition(name + "x")


def test_moleculeace_rule_marks_ten_fold_pairs_above_0_9():
    """Hand-worked: two neighbours at similarity 0.95 and 0.5, |Δy| 1.2 and 3."""
    from cliffkit.similarity import NeighborGraph

    g = NeighborGraph(indptr=np.array([0, 2, 3, 4]), indices=np.array([1, 2, 0, 0]),
                      similarities=np.array([0.95, 0.5, 0.95, 0.5]), n_reference=3,
                      params={"k": 2, "min_similarity": 0.0})
    y = np.array([0.0, 1.2, 3.0])
    rule = get_cliff_definition("moleculeace")
    assert rule.severity(g, y).severity.tolist() == [1.0, 1.0, 0.0]
    assert rule.pairs(g, y).tolist() == [[0, 1]]


_SMALL = {"epochs": 2, "n_estimators": 5, "num_leaves": 4, "hidden_channels": 8, "num_layers": 1,
          "n_bits": 128, "device": "cpu", "show_progress": False, "n_jobs": 1}


@pytest.mark.parametrize("name", list_backbones())
def test_backbone_fit_predict_contract(name, tmp_path):
    """Every backbone: fit on train/val, predict shape (n,) float64, same seed same output."""
    from cliffkit.data import load_dataset
    from cliffkit.errors import MissingDependencyError
    from cliffkit.models import get_backbone

    cls = get_backbone_class(name)
    names = cls._param_names()
    params = {k: v for k, v in _SMALL.items() if k in names}
    ds = load_dataset("freesolv")
    train, val, test = ds.subset(np.arange(0, 40)), ds.subset(np.arange(40, 50)), ds.subset(np.arange(50, 58))

    def run():
        try:
            model = get_backbone(name, random_state=0, **params).fit(train, val)
        except MissingDependencyError as exc:
            pytest.skip(str(exc))
        return model.predict(test)

    a = run()
    assert a.shape == (len(test),) and a.dtype == np.float64 and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, run())


# --------------------------------------------------- losses that wrap the model
@pytest.mark.parametrize("name", list_losses())
def test_loss_wrapper_contract(name, tmp_path):
    """A loss that names a wrapper gives a registered one that builds with its params,
    fits, predicts (n,) float64 deterministically and round-trips through save/load."""
    from cliffkit.data import load_dataset
    from cliffkit.models import Backbone, get_backbone, wrap

    spec = make_loss(name, Y, pairs=np.array([[0, 1]]), random_state=0,
                     **({"y_val": Y[:4], "val_cliff_mask": np.array([1, 0, 1, 0], bool),
                         "val_smooth_mask": np.array([0, 1, 0, 1], bool)}
                        if name == "cliff-adaptive" else {}),
                     **({} if name in ("plain", "lds", "lds-pair", "plain-ensemble",
                                       "anchor-delta", "tanimoto-stack") else
                        {"severity": np.linspace(0, 1, len(Y))}))
    if spec.wrapper is None:
        assert "wrapper" not in spec.params
        return
    assert spec.params["wrapper"] == spec.wrapper
    small = {"ensemble": {"n_members": 2},
             "blend": {"other_params": {"C": 1.0, "n_bits": 128}},
             "anchor-delta": {"k": 3, "n_estimators": 5, "n_jobs": 1, "n_bits": 128}}
    params = {**spec.wrapper_params, **small.get(spec.wrapper, {})}
    ds = load_dataset("freesolv")
    train, val, test = ds.subset(np.arange(0, 40)), ds.subset(np.arange(40, 50)), ds.subset(np.arange(50, 58))

    def run():
        base = get_backbone("lgbm", random_state=0, **{k: _SMALL[k] for k in
                                                       ("n_estimators", "num_leaves", "n_bits",
                                                        "n_jobs")})
        return wrap(spec.wrapper, base, **params).fit(train, val)

    model = run()
    a = model.predict(test)
    assert a.shape == (len(test),) and a.dtype == np.float64 and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, run().predict(test))
    model.save(tmp_path / "m")
    np.testing.assert_allclose(Backbone.load(tmp_path / "m").predict(test), a, rtol=0, atol=1e-12)
