"""Small shared helpers: atomic file writes, parameter validation, seeding, hashing, registries."""

from ._atomic import atomic_write, atomic_write_bytes, atomic_write_text, refuse_input_as_output
from ._hashing import sha256_bytes, sha256_file
from ._json import to_jsonable
from ._lazy import lazy_exports
from ._params import Params, params_class
from ._paths import cache_dir
from ._registry import Registry, import_user_registrations, normalize_name, user_registrations
from ._table import format_number, format_table, one_line
from ._validation import (
    Interval,
    Options,
    check_random_state,
    head_list,
    is_seed,
    validate_params,
    validated,
)
from ._warnings import user_stacklevel

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "refuse_input_as_output",
    "sha256_bytes",
    "sha256_file",
    "to_jsonable",
    "lazy_exports",
    "cache_dir",
    "Params",
    "params_class",
    "Registry",
    "import_user_registrations",
    "user_registrations",
    "normalize_name",
    "format_number",
    "format_table",
    "one_line",
    "Interval",
    "Options",
    "check_random_state",
    "head_list",
    "is_seed",
    "validate_params",
    "validated",
    "user_stacklevel",
]
