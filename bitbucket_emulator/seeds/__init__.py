"""Worlds to start from: the `demo` seed, the `scale` seed and seed files."""

from .build import access_tokens, accounts, load_seed

__all__ = ["access_tokens", "accounts", "load_seed"]
