"""Grid configuration: what to run, validated before any work starts.

A grid is datasets and targets x split methods x backbones x losses x seeds. It is
read from TOML (stdlib :mod:`tomllib`) or JSON, either a shipped name (``smoke``,
``demo``, ``quick``, ``paper``) or a file path::

    name = "demo"
    seeds = [0, 1, 2]
    splits = ["cliff", "random"]
    backbones = ["mlp", "lgbm"]
    losses = ["plain", "cliff"]

    [[datasets]]
    name = "lipophilicity"
    targets = ["logd"]          # optional: all targets of the dataset (a file: its columns)
    subsample = 2000            # optional: a seeded random subset of the molecules (fewer
                                # than the dataset gives, invalid rows dropped, duplicates merged)
    subsample_seed = 0          # optional (default 0); the same subset for every seed

    [split_params.cliff]        # keyword arguments of make_split for that method
    test_size = 0.1
    [backbone_params.mlp]       # keyword arguments of get_backbone
    epochs = 50
    [loss_params.cliff]         # keyword arguments of the loss
    lam = 0.1
    [evaluation]
    n_bootstrap = 1000
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import importlib.resources
import itertools
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, unknown_name

__all__ = [
    "Cell",
    "DatasetSpec",
    "GridConfig",
    "SplitSpec",
    "list_configs",
    "load_config",
    "subsample_refusal",
]

#: Bump when the meaning of a cell changes, so old results are not reused.
CELL_FORMAT = 1

_TOP_KEYS = {
    "name": str,
    "description": str,
    "seeds": list,
    "splits": list,
    "backbones": list,
    "losses": list,
    "datasets": list,
    "split_params": dict,
    "backbone_params": dict,
    "loss_params": dict,
    "evaluation": dict,
    "exclude": list,
}
#: Keys of an ``exclude`` entry: a cell is left out when it matches every key the entry gives.
_EXCLUDE_KEYS = ("dataset", "split", "backbone", "loss")
_PLURAL = {"dataset": "datasets", "split": "splits", "backbone": "backbones", "loss": "losses"}
_REQUIRED = ("seeds", "splits", "backbones", "losses", "datasets")
_DATASET_KEYS = {"name", "targets", "subsample", "subsample_seed", "smiles_col", "unit"}
_EVALUATION_KEYS = {"n_bootstrap"}


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same config gives the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _short_hash(obj: Any, n: int = 12) -> str:
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:n]


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(text))
    return keep.strip("-")[:40] or "x"


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the grid, with the targets to run and an optional subsample."""

    name: str
    targets: tuple[str, ...] = ()
    subsample: int | None = None
    subsample_seed: int = 0
    smiles_col: str | None = None  # a user file's SMILES column (targets are its columns)
    unit: str | None = None  # a user file's target unit, for the report

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "targets": list(self.targets),
            "subsample": self.subsample,
            "subsample_seed": self.subsample_seed,
        }
        # only when set, so that the configs (and cell keys) of registered data keep their bytes
        if self.smiles_col is not None:
            out["smiles_col"] = self.smiles_col
        if self.unit is not None:
            out["unit"] = self.unit
        return out


@dataclass
class SplitSpec:
    """One split to compute: shared by every cell with the same data, method and seed."""

    dataset: str
    target: str
    subsample: int | None
    subsample_seed: int
    method: str
    params: dict
    seed: int
    smiles_col: str | None = None

    def to_dict(self) -> dict:
        out = {
            "dataset": self.dataset,
            "target": self.target,
            "subsample": self.subsample,
            "subsample_seed": self.subsample_seed,
            "method": self.method,
            "params": self.params,
            "seed": self.seed,
        }
        if self.smiles_col is not None:
            out["smiles_col"] = self.smiles_col
        return out

    @property
    def key(self) -> str:
        """Readable prefix plus a hash of the canonical JSON of :meth:`to_dict`."""
        prefix = "-".join(_slug(p) for p in (self.dataset, self.target, self.method))
        return f"{prefix}-s{self.seed}-{_short_hash({'format': CELL_FORMAT, **self.to_dict()})}"


@dataclass
class Cell:
    """One unit of work: train one backbone with one loss on one split, then evaluate."""

    dataset: str
    target: str
    subsample: int | None
    subsample_seed: int
    split: str
    split_params: dict
    backbone: str
    backbone_params: dict
    loss: str
    loss_params: dict
    seed: int
    evaluation: dict = field(default_factory=dict)
    smiles_col: str | None = None

    def to_dict(self) -> dict:
        out = {
            "format": CELL_FORMAT,
            "dataset": self.dataset,
            "target": self.target,
            "subsample": self.subsample,
            "subsample_seed": self.subsample_seed,
            "split": self.split,
            "split_params": self.split_params,
            "backbone": self.backbone,
            "backbone_params": self.backbone_params,
            "loss": self.loss,
            "loss_params": self.loss_params,
            "seed": self.seed,
            "evaluation": self.evaluation,
        }
        if self.smiles_col is not None:  # absent for registered data: their keys are unchanged
            out["smiles_col"] = self.smiles_col
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Cell:
        d = {k: v for k, v in d.items() if k != "format"}
        return cls(**d)

    def canonical_json(self) -> str:
        return canonical_json(self.to_dict())

    @property
    def key(self) -> str:
        """``<dataset>-<target>-<split>-<backbone>-<loss>-s<seed>-<sha256[:12]>``.

        The hash covers every field (parameters included), so a changed parameter
        gives a new cell and a rerun never reuses a result made under other settings.
        """
        prefix = "-".join(
            _slug(p) for p in (self.dataset, self.target, self.split, self.backbone, self.loss)
        )
        digest = hashlib.sha256(self.canonical_json().encode()).hexdigest()[:12]
        return f"{prefix}-s{self.seed}-{digest}"

    @property
    def split_spec(self) -> SplitSpec:
        return SplitSpec(
            dataset=self.dataset,
            target=self.target,
            subsample=self.subsample,
            subsample_seed=self.subsample_seed,
            method=self.split,
            params=self.split_params,
            seed=self.seed,
            smiles_col=self.smiles_col,
        )


@dataclass
class GridConfig:
    """A validated experiment grid. Build it with :func:`load_config` or :meth:`from_dict`."""

    name: str
    datasets: list[DatasetSpec]
    splits: list[str]
    backbones: list[str]
    losses: list[str]
    seeds: list[int]
    split_params: dict[str, dict] = field(default_factory=dict)
    backbone_params: dict[str, dict] = field(default_factory=dict)
    loss_params: dict[str, dict] = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)
    description: str = ""
    source: str = ""
    exclude: list[dict] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"GridConfig(name={self.name!r}, datasets={[d.name for d in self.datasets]!r}, "
            f"splits={self.splits!r}, backbones={self.backbones!r}, losses={self.losses!r}, "
            f"seeds={self.seeds!r}, n_cells={len(self.cells())})"
        )

    # -- serialisation -------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "datasets": [d.to_dict() for d in self.datasets],
            "splits": list(self.splits),
            "backbones": list(self.backbones),
            "losses": list(self.losses),
            "seeds": list(self.seeds),
            "split_params": copy.deepcopy(self.split_params),
            "backbone_params": copy.deepcopy(self.backbone_params),
            "loss_params": copy.deepcopy(self.loss_params),
            "evaluation": dict(self.evaluation),
            # only when given, so that a grid without it keeps its recorded form
            **({"exclude": copy.deepcopy(self.exclude)} if self.exclude else {}),
        }

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "<dict>", check_names: bool = True) -> GridConfig:
        """Validate ``data`` and build a config; raise :class:`ConfigError` on any mistake.

        Parameters
        ----------
        data : dict
            Parsed TOML/JSON.
        source : str
            Where it came from, for messages.
        check_names : bool
            Check dataset, backbone and loss names against the registries (and the
            parameters against the constructors). Tests of the schema alone can skip it.
        """
        return _validate(data, source=source, check_names=check_names)

    # -- expansion -----------------------------------------------------------------
    def excluded(self, dataset: str, split: str, backbone: str, loss: str) -> bool:
        """Whether an ``exclude`` entry leaves this combination out of the grid."""
        here = {"dataset": dataset, "split": split, "backbone": backbone, "loss": loss}
        return any(all(here[k] == v for k, v in e.items()) for e in self.exclude)

    def cells(self) -> list[Cell]:
        """Every cell, in a stable order (dataset, target, split, seed, backbone, loss),
        less the combinations an ``exclude`` entry names."""
        out = []
        for ds in self.datasets:
            for target in ds.targets:
                for split, seed, backbone, loss in itertools.product(
                    self.splits, self.seeds, self.backbones, self.losses
                ):
                    if self.exclude and self.excluded(ds.name, split, backbone, loss):
                        continue
                    out.append(
                        Cell(
                            dataset=ds.name,
                            target=target,
                            subsample=ds.subsample,
                            subsample_seed=ds.subsample_seed,
                            split=split,
                            split_params=copy.deepcopy(self.split_params.get(split, {})),
                            backbone=backbone,
                            backbone_params=copy.deepcopy(self.backbone_params.get(backbone, {})),
                            loss=loss,
                            loss_params=copy.deepcopy(self.loss_params.get(loss, {})),
                            seed=int(seed),
                            evaluation=dict(self.evaluation),
                            smiles_col=ds.smiles_col,
                        )
                    )
        return out

    def split_specs(self) -> list[SplitSpec]:
        """The distinct splits the cells need (computed once each)."""
        seen: dict[str, SplitSpec] = {}
        for cell in self.cells():
            spec = cell.split_spec
            seen.setdefault(spec.key, spec)
        return list(seen.values())


# ---------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------
def list_configs() -> list[str]:
    """Names of the configs shipped with cliffkit."""
    root = importlib.resources.files("cliffkit.bench") / "configs"
    names = []
    for entry in root.iterdir():
        if entry.name.endswith((".toml", ".json")):
            names.append(entry.name.rsplit(".", 1)[0])
    return sorted(names)


def _parse(text: str, source: str, suffix: str) -> dict:
    try:
        if suffix == ".json":
            data = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Config {source} is not valid {suffix.lstrip('.').upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Config {source} must hold a table/object at the top level.")
    return data


def load_config(name_or_path: str | os.PathLike, *, check_names: bool = True) -> GridConfig:
    """Load and validate a grid config: a shipped name or a ``.toml``/``.json`` file.

    Raises
    ------
    ConfigError
        The file does not exist or does not parse, a key is misspelled or a value is
        of the wrong type, or a dataset/split/backbone/loss name is unknown. The
        message names the key and the accepted values.
    """
    text_name = str(name_or_path)
    path = Path(text_name)
    if path.suffix in (".toml", ".json") or os.sep in text_name or path.exists():
        if not path.is_file():
            raise ConfigError(
                f"Config file {text_name!r} does not exist; give a path to a .toml/.json file "
                f"or one of the shipped names: {', '.join(list_configs())}."
            )
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            data_file = suffix in (".csv", ".tsv", ".tab", ".gz", ".parquet", ".smi", ".txt")
            raise ConfigError(
                f"Config file {text_name!r} is not a .toml or .json grid config"
                + ("; it looks like a data file: give it as the argument instead of --config "
                   f"(cliffkit bench {text_name} --target-col COL -o results/)"
                   if data_file else "; name the file .toml (or .json)") + "."
            )
        data = _parse(path.read_text(encoding="utf-8"), text_name, suffix)
        return _validate(data, source=str(path), check_names=check_names)
    shipped = list_configs()
    if text_name not in shipped:
        raise ConfigError(str(unknown_name("grid config", text_name, shipped)) +
                          " (or give a path to a .toml/.json file)")
    root = importlib.resources.files("cliffkit.bench") / "configs"
    for suffix in (".toml", ".json"):
        entry = root / f"{text_name}{suffix}"
        if entry.is_file():
            data = _parse(entry.read_text(encoding="utf-8"), f"{text_name}{suffix}", suffix)
            return _validate(data, source=f"cliffkit:bench/configs/{text_name}{suffix}",
                             check_names=check_names)
    raise ConfigError(f"Shipped config {text_name!r} is missing from the package.")  # pragma: no cover


# ---------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------
def _fail_unknown(kind: str, name: Any, choices, where: str) -> ConfigError:
    return ConfigError(f"{where}: {unknown_name(kind, str(name), choices)}")


def _check_keys(table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise _fail_unknown("key", key, allowed, where)


def _check_list_of_str(value: Any, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key!r} must be a non-empty list of strings; got {value!r}.")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: {key!r} lists a name twice: {value!r}.")
    return list(value)


def split_names() -> list[str]:
    """Splitter registry keys (from :mod:`cliffkit.split`)."""
    from ..split import list_splitters

    return list_splitters()


def backbone_names() -> list[str]:
    """Backbone registry keys (from :mod:`cliffkit.models`)."""
    from ..models import list_backbones

    return sorted(list_backbones())


def loss_names() -> list[str]:
    """Loss registry keys (from :mod:`cliffkit.loss`)."""
    from ..loss import list_losses

    return sorted(list_losses())


def dataset_names() -> list[str]:
    """Registered dataset names (from :func:`cliffkit.data.list_datasets`)."""
    from ..data import list_datasets

    return sorted(info.name for info in list_datasets())


def _dataset_targets(name: str, smiles_col: str | None = None,
                     where: str = "config") -> list[str] | None:
    """Targets a dataset offers, from its registry entry when possible, else by loading it
    (a file: its one numeric column; with several, the error asks for the entry's 'targets')."""
    from ..data import list_datasets, load_dataset
    from ..errors import MissingColumnError

    for info in list_datasets():
        if info.name == name:
            return list(info.target_names)
    try:
        return list(load_dataset(name, smiles_col=smiles_col).target_names)
    except MissingColumnError as exc:
        raise _config_error(exc, where) from exc


def subsample_refusal(where: str, name: str, target: str, subsample: int, ds) -> ConfigError:
    """The error for a ``subsample`` not smaller than the molecules of ``ds`` (``name``
    loaded for ``target``), with why the data give fewer molecules than rows."""
    rep = ds.report
    why = [f"{v:,} rows dropped ({k})" for k, v in rep.dropped_by_reason().items()]
    if rep.n_merged_rows:
        why.append(f"{rep.n_merged_rows:,} duplicate rows merged")
    rows = f" ({rep.n_read:,} data rows; {', '.join(why)})" if why else ""
    return ConfigError(
        f"{where} key 'subsample': {subsample:,} is not smaller than the {len(ds):,} usable "
        f"molecules of {name!r} for target {target!r}{rows}, so every cell would use the whole "
        f"dataset while recording 'subsample = {subsample}'; lower it below {len(ds):,} or "
        "drop 'subsample'."
    )


def _check_subsample(name: str, subsample: int, is_path: bool, where: str,
                     targets: list[str] = (), smiles_col: str | None = None) -> None:
    """A subsample must be smaller than the data (it was silently the whole dataset): than a
    registered dataset's molecules; than a file's rows, then than the molecules each target's
    cells load from it (invalid rows dropped, duplicates merged)."""
    if is_path:
        from ..data._read import read_table

        n, what = len(read_table(name).frame), "data rows"
    else:
        from ..data import list_datasets

        sizes = {info.name: info.n_molecules for info in list_datasets()}
        if sizes.get(name) is None:
            return  # moleculeace:<set>: its size is known when the cells load it
        n, what = sizes[name], "molecules"
    if subsample >= n:
        raise ConfigError(
            f"{where} key 'subsample': {subsample:,} is not smaller than the {n:,} {what} of "
            f"{name!r}, so it would be the whole dataset under another cell key; drop "
            "'subsample' or lower it."
        )
    if not is_path:
        return
    from ..errors import CliffkitError
    from ._cell import task_source

    for target in targets:  # read as the cells read it (its warnings are theirs to record)
        try:
            ds = task_source(name, target, smiles_col)
        except CliffkitError as exc:
            raise _config_error(exc, where) from exc
        if subsample >= len(ds):
            raise subsample_refusal(where, name, target, subsample, ds)


def _check_file_columns(path: str, smiles_col: str | None, targets: list[str], where: str) -> None:
    """The SMILES and target columns a ``[[datasets]]`` entry names must be in its file
    (``smiles_col`` None: the file's column named ``smiles``, as the cells find it)."""
    from ..data._loaders import _detect_smiles_col
    from ..data._read import read_table, resolve_column
    from ..errors import CliffkitError

    try:
        table = read_table(path)
    except CliffkitError as exc:
        raise _config_error(exc, f"{where} key 'name'") from exc
    if smiles_col is None:
        try:
            _detect_smiles_col(table)
        except CliffkitError as exc:
            raise _config_error(exc, where) from exc
    checks = [("smiles_col", smiles_col, "SMILES")] if smiles_col is not None else []
    for key, column, role in [*checks, *(("targets", t, "target") for t in targets)]:
        try:
            resolve_column(table, column, role=role)
        except CliffkitError as exc:
            raise _config_error(exc, f"{where} key {key!r}") from exc


#: The data layer's option names (``load_dataset`` parameter / CLI flag) and the
#: ``[[datasets]]`` key of a grid config that does the same.
_DATA_OPTIONS = (("target_cols / --target-col", "targets"), ("smiles_col / --smiles-col", "smiles_col"),
                 ("--target-col", "targets"), ("--smiles-col", "smiles_col"))


def _config_error(exc: Exception, where: str) -> ConfigError:
    """``exc`` of the data layer as a config error at ``where``, its advice naming the
    ``[[datasets]]`` keys instead of the Python parameters and CLI flags."""
    text = str(exc)
    for option, key in _DATA_OPTIONS:
        text = text.replace(option, f"the [[datasets]] key {key!r}")
    return ConfigError(f"{where}: {text}")


def _expand_datasets(entries: list, where: str) -> list:
    """Replace a ``name = "moleculeace:*"`` entry by one entry per MoleculeACE set found
    under ``CLIFFKIT_DATA_DIR/moleculeace`` (its other keys copied to each)."""
    out = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else entry
        if name != "moleculeace:*":
            out.append(entry)
            continue
        from ..data import moleculeace_sets

        found = moleculeace_sets()
        if not found:
            raise ConfigError(
                f"{where}: 'moleculeace:*' found no MoleculeACE set (no CHEMBL*.csv in "
                "$CLIFFKIT_DATA_DIR/moleculeace); copy the sets there from the MoleculeACE "
                "package or repository (MoleculeACE/Data/benchmark_data) and set CLIFFKIT_DATA_DIR."
            )
        base = dict(entry) if isinstance(entry, dict) else {}
        out.extend({**base, "name": n} for n in found)
    return out


def _validate(data: dict, *, source: str, check_names: bool) -> GridConfig:
    where = f"config {source}"
    _check_keys(data, _TOP_KEYS, where)
    for key in _REQUIRED:
        if key not in data:
            raise ConfigError(f"{where}: the required key {key!r} is missing.")
    for key, typ in _TOP_KEYS.items():
        if key in data and not isinstance(data[key], typ):
            raise ConfigError(
                f"{where}: {key!r} must be a {'table' if typ is dict else typ.__name__}; "
                f"got {type(data[key]).__name__}."
            )

    seeds = data["seeds"]
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ConfigError(f"{where}: 'seeds' must be a non-empty list of non-negative ints; got {seeds!r}.")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: 'seeds' lists a seed twice: {seeds!r}.")

    splits = _check_list_of_str(data["splits"], "splits", where)
    known_s = split_names()
    for s in splits:
        if s not in known_s:
            raise _fail_unknown("split method", s, known_s, f"{where} key 'splits'")
    backbones = _check_list_of_str(data["backbones"], "backbones", where)
    losses = _check_list_of_str(data["losses"], "losses", where)
    if check_names:
        known_b = backbone_names()
        for b in backbones:
            if b not in known_b:
                raise _fail_unknown("backbone", b, known_b, f"{where} key 'backbones'")
        known_l = loss_names()
        for lo in losses:
            if lo not in known_l:
                raise _fail_unknown("loss", lo, known_l, f"{where} key 'losses'")

    # datasets
    datasets: list[DatasetSpec] = []
    if not data["datasets"]:
        raise ConfigError(f"{where}: 'datasets' must list at least one [[datasets]] table.")
    known_d = dataset_names() if check_names else None
    for i, entry in enumerate(_expand_datasets(data["datasets"], where)):
        dwhere = f"{where} datasets[{i}]"
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, dict):
            raise ConfigError(f"{dwhere}: must be a table with a 'name'; got {entry!r}.")
        _check_keys(entry, _DATASET_KEYS, dwhere)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{dwhere}: 'name' is required (a dataset name or a file path).")
        is_path = name.endswith((".csv", ".parquet", ".csv.gz")) or os.sep in name
        if check_names and not is_path and ":" not in name and name not in known_d:
            raise _fail_unknown("dataset", name, known_d, f"{dwhere} key 'name'")
        if is_path and check_names and not Path(name).is_file():
            beside = Path(source).parent / name
            hint = (f"; paths are relative to the folder you run cliffkit from ({os.getcwd()}), "
                    "not to the config file")
            if not Path(name).is_absolute() and beside.is_file() and Path(source).is_file():
                hint += f" (there is a {str(beside)!r}: give that path)"
            raise ConfigError(f"{dwhere}: dataset file {name!r} does not exist{hint}.")
        targets = entry.get("targets", [])
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ConfigError(f"{dwhere}: 'targets' must be a list of target names; got {targets!r}.")
        smiles_col = entry.get("smiles_col")
        if smiles_col is not None and (not isinstance(smiles_col, str) or not smiles_col):
            raise ConfigError(f"{dwhere}: 'smiles_col' must be a column name; got {smiles_col!r}.")
        if smiles_col is not None and not is_path:
            raise ConfigError(f"{dwhere}: 'smiles_col' applies to a file; {name!r} is a "
                              "registered dataset (drop it).")
        unit = entry.get("unit")
        if unit is not None and not isinstance(unit, str):
            raise ConfigError(f"{dwhere}: 'unit' must be a string (e.g. \"pKi\"); got {unit!r}.")
        if check_names and unit is not None and not is_path:  # (results folders load unchecked)
            raise ConfigError(f"{dwhere}: 'unit' applies to a file; {name!r} is a registered "
                              "dataset with its own units (drop it).")
        if check_names and is_path and targets:
            offered = None  # the columns are checked on the file's header (no RDKit pass)
            _check_file_columns(name, smiles_col, targets, dwhere)
        elif check_names:
            offered = _dataset_targets(name, smiles_col, dwhere)
        if check_names and offered is not None:
            if offered is not None:
                for t in targets:
                    if t not in offered:
                        raise _fail_unknown(f"target of dataset {name!r}", t, offered,
                                            f"{dwhere} key 'targets'")
                if not targets:
                    targets = offered
        if not targets:
            raise ConfigError(f"{dwhere}: 'targets' must name at least one target.")
        subsample = entry.get("subsample")
        if subsample is not None and (
            not isinstance(subsample, int) or isinstance(subsample, bool) or subsample < 10
        ):
            raise ConfigError(f"{dwhere}: 'subsample' must be an int >= 10 or absent; got {subsample!r}.")
        if check_names and subsample is not None:
            _check_subsample(name, subsample, is_path, dwhere, targets, smiles_col)
        if check_names and subsample is None and entry.get("subsample_seed", 0) != 0:
            raise ConfigError(f"{dwhere}: 'subsample_seed' applies with 'subsample' (a seeded "
                              "subset); without it the whole dataset is used, so drop it or add "
                              "'subsample'.")
        sub_seed = entry.get("subsample_seed", 0)
        if not isinstance(sub_seed, int) or isinstance(sub_seed, bool) or sub_seed < 0:
            raise ConfigError(f"{dwhere}: 'subsample_seed' must be a non-negative int; got {sub_seed!r}.")
        datasets.append(DatasetSpec(name=name, targets=tuple(targets), subsample=subsample,
                                    subsample_seed=sub_seed, smiles_col=smiles_col, unit=unit))
    if len({(d.name, d.subsample, d.subsample_seed) for d in datasets}) != len(datasets):
        raise ConfigError(f"{where}: a dataset is listed twice with the same subsample.")

    # parameter tables: keys must be among the names the grid uses
    params = {}
    for key, names, kind, grid_key, registered in (
        ("split_params", splits, "split method", "splits", split_names),
        ("backbone_params", backbones, "backbone", "backbones", backbone_names),
        ("loss_params", losses, "loss", "losses", loss_names),
    ):
        table = data.get(key, {})
        for name, value in table.items():
            if name not in names:
                if name in registered():
                    raise ConfigError(
                        f"{where}: table [{key}.{name}]: {kind} {name!r} is not in this grid's "
                        f"{grid_key!r} ({', '.join(names)}); add it there or remove the table."
                    )
                raise _fail_unknown(kind, name, names, f"{where} table [{key}]")
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{key}.{name}] must be a table of parameters; got {value!r}.")
        params[key] = copy.deepcopy(table)

    evaluation = dict(data.get("evaluation", {}))
    _check_keys(evaluation, _EVALUATION_KEYS, f"{where} table [evaluation]")
    nb = evaluation.get("n_bootstrap", 1000)
    if not isinstance(nb, int) or isinstance(nb, bool) or nb < 0:
        raise ConfigError(f"{where}: [evaluation] 'n_bootstrap' must be an int >= 0; got {nb!r}.")
    evaluation["n_bootstrap"] = nb

    config = GridConfig(
        name=str(data.get("name", Path(source).stem)),
        description=str(data.get("description", "")),
        datasets=datasets,
        splits=splits,
        backbones=backbones,
        losses=losses,
        seeds=[int(s) for s in seeds],
        split_params=params["split_params"],
        backbone_params=params["backbone_params"],
        loss_params=params["loss_params"],
        evaluation=evaluation,
        source=source,
        exclude=_check_exclude(data.get("exclude", []), datasets, splits, backbones, losses,
                               where),
    )
    if check_names:
        _check_constructor_params(config, where)
    return config


def _check_exclude(entries: list, datasets, splits, backbones, losses, where: str) -> list[dict]:
    """``exclude``: a list of tables with some of dataset/split/backbone/loss; each value must
    be one the grid lists (an entry that matches no cell is a typo, not a no-op)."""
    grid = {"dataset": [d.name for d in datasets], "split": splits, "backbone": backbones,
            "loss": losses}
    out = []
    for i, e in enumerate(entries):
        ewhere = f"{where} 'exclude' entry {i + 1}"
        if not isinstance(e, dict) or not e:
            raise ConfigError(f"{ewhere}: must be a non-empty table such as "
                              f"{{backbone = \"lgbm\", loss = \"cliff-pair\"}}; got {e!r}.")
        _check_keys(e, _EXCLUDE_KEYS, ewhere)
        for k, v in e.items():
            if v not in grid[k]:
                raise ConfigError(f"{ewhere}: {k} {v!r} is not in this grid's {_PLURAL[k]!r} "
                                  f"({', '.join(grid[k])}), so the entry would leave out nothing.")
        out.append({k: e[k] for k in _EXCLUDE_KEYS if k in e})
    return out


def _check_constructor_params(config: GridConfig, where: str) -> None:
    """Check loss, split and backbone parameters, names and values, so that a misspelled
    parameter or an impossible value (``epochs = 0``, ``lam = -1``, ``min_similarity =
    1.5``) fails now, naming the table, rather than in every cell."""
    from ..errors import CliffkitError
    from ..loss import loss_param_names
    from ..split import get_splitter
    from ..split._base import SPLITTERS

    for key, what in (("split_params", "split"), ("backbone_params", "model initialisation"),
                      ("loss_params", "random weights")):
        for name, params in getattr(config, key).items():
            if "random_state" in params:
                raise ConfigError(
                    f"{where} table [{key}.{name}]: 'random_state' would give every seed of the "
                    f"grid the same {what}; the grid's 'seeds' set it (remove it, and list the "
                    "seeds you want in 'seeds')."
                )
    accepted = loss_param_names()
    for name, params in config.loss_params.items():
        for key in params:
            if key not in accepted:
                raise _fail_unknown(f"parameter of loss {name!r}", key, accepted,
                                    f"{where} table [loss_params.{name}]")
        _check_loss_values(name, params, f"{where} table [loss_params.{name}]")
        _check_wrapper_params(name, params, f"{where} table [loss_params.{name}]")
    if "predefined" in config.splits:
        given = config.split_params.get("predefined", {})
        sources = [k for k in ("split_col", "chemprop_splits", "train_idx") if k in given]
        if len(sources) != 1:
            raise ConfigError(
                f"{where}: split 'predefined' needs exactly one source of the assignment in "
                "[split_params.predefined]: split_col (a column of the data file, e.g. "
                "MoleculeACE's \"split\"), chemprop_splits, or train_idx + test_idx; got "
                f"{', '.join(sources) or 'none'}."
            )
    for name, params in config.split_params.items():
        names = SPLITTERS.get(name)._param_names()
        for key in params:
            if key not in names:
                raise _fail_unknown(f"parameter of split method {name!r}", key, names,
                                    f"{where} table [split_params.{name}]")
        try:
            get_splitter(name, **params)._validate_params()
        except (CliffkitError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where} table [split_params.{name}]: {exc}") from exc
    _check_backbone_params(config, where)
    _check_loss_backbones(config, where)


def _check_loss_backbones(config: GridConfig, where: str) -> None:
    """Every loss of the grid can train every backbone of the grid: a grid crosses them all,
    and a pair, ACA or SWA loss on LightGBM or the SVM would fail in every such cell."""
    from ..errors import CliffkitError
    from ..models import get_backbone

    bad = []
    for loss in config.losses:
        try:
            spec = _stand_in_loss(loss, config.loss_params.get(loss, {}))
        except (CliffkitError, TypeError, ValueError):
            continue  # its parameters were checked above; nothing more to learn here
        for bb in config.backbones:
            if all(config.excluded(d.name, sp, bb, loss) for d in config.datasets
                   for sp in config.splits):
                continue
            try:
                spec.check_backbone(get_backbone(bb, **config.backbone_params.get(bb, {})))
            except CliffkitError as exc:
                bad.append((bb, loss, str(exc)))
    if bad:
        raise ConfigError(
            f"{where}: the grid crosses every backbone with every loss, and {len(bad)} "
            "(backbone, loss) combination(s) cannot train: "
            + ", ".join(f"({b}, {loss})" for b, loss, _ in bad)
            + f". Leave them out with 'exclude' in a config file (exclude = [{{backbone = "
            f"\"{bad[0][0]}\", loss = \"{bad[0][1]}\"}}]), run those losses as a second bench "
            "with torch backbones into the same results folder, or drop them. " + bad[0][2]
        )


def _check_loss_values(name: str, params: dict, where: str) -> None:
    """Build the loss once on stand-in training data (nothing is trained), so that a value
    the loss refuses (``lam = -1``, ``beta = "0.5"``, ``lam`` for a loss without cliff
    weights) fails before any cell runs."""
    from ..errors import CliffkitError

    try:
        _stand_in_loss(name, params)
    except (CliffkitError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _stand_in_loss(name: str, params: dict):
    """The loss ``name`` with ``params`` built on 40 stand-in training molecules (labels,
    severities, cliff pairs and validation strata; nothing is trained), so that its
    parameters and its backbone requirements can be checked before any cell runs."""
    import warnings

    import numpy as np

    from ..loss import make_loss

    n = 40
    y = np.linspace(0.0, 4.0, n)
    pairs = np.stack([np.arange(0, n - 1, 2), np.arange(1, n, 2)], axis=1)
    cliff = np.zeros(n, bool)
    cliff[::4] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_loss(name, y, severity=np.linspace(0.0, 1.0, n), pairs=pairs, y_val=y,
                         val_cliff_mask=cliff, val_smooth_mask=~cliff, **params)


def _check_wrapper_params(name: str, params: dict, where: str) -> None:
    """A loss that wraps the model (``plain-ensemble`` ...): its wrapper must accept
    ``wrapper_params`` (checked on a stand-in backbone, nothing is trained)."""
    if "wrapper_params" not in params and "wrapper" not in params:
        return
    import numpy as np

    from ..errors import CliffkitError
    from ..loss import make_loss
    from ..models import get_backbone, wrap

    y = np.arange(4.0)
    try:
        spec = make_loss(name, y, severity=np.zeros(4), pairs=np.array([[0, 1]]), y_val=y,
                         val_cliff_mask=np.ones(4, bool), val_smooth_mask=np.zeros(4, bool),
                         **params)
        if spec.wrapper is not None:
            wrap(spec.wrapper, get_backbone("lgbm"), **spec.wrapper_params)
    except CliffkitError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _check_backbone_params(config: GridConfig, where: str) -> None:
    from ..models import get_backbone, get_backbone_class

    for name in config.backbones:
        params = config.backbone_params.get(name, {})
        if not params:
            continue
        accepted = get_backbone_class(name)._param_names()
        for key in params:
            if key not in accepted:
                raise _fail_unknown(f"parameter of backbone {name!r}", key, accepted,
                                    f"{where} table [backbone_params.{name}]")
        try:
            get_backbone(name, **params)._validate_params()
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where} table [backbone_params.{name}]: {exc}") from exc
