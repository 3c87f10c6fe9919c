"""The version of cliffkit, in its own module so that no subpackage imports the top-level package."""

__version__ = "0.1.0"
