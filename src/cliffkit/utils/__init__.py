"""Small shared helpers: atomic file writes, parameter validation, seeding, hashing."""

from ._atomic import atomic_write, atomic_write_bytes, atomic_write_text
from ._hashing import sha256_bytes, sha256_file
from ._json import to_jsonable
from ._table import format_table
from ._validation import (
    Interval,
    Options,
    check_random_state,
    validate_params,
)

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "sha256_bytes",
    "sha256_file",
    "to_jsonable",
    "format_table",
    "Interval",
    "Options",
    "check_random_state",
    "validate_params",
]
