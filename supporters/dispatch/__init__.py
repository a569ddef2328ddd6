"""Dispatch. Importing it registers what the register reads about a dispatch (hooks.py)."""

from supporters.dispatch import hooks as _hooks  # noqa: F401
