"""Run sizes of the book (DESIGN.md section 3).

- ``smoke``: seconds per notebook, tiny data and models; what ``make test`` executes. Never
  writes to ``results/``.
- ``quick``: what the published site shows; CPU scale, honest reduced versions of the papers'
  experiments on offline data, cached in ``results/``.
- ``paper``: the papers' own settings, meant for a GPU.

Each experiment keeps its own per-profile config; this module only says which profile is active.
"""

from __future__ import annotations

import difflib
import os

from thermo.errors import ConfigError

PROFILES = ("smoke", "quick", "paper")
ENV_VAR = "THERMO_PROFILE"
DEFAULT = "quick"


def check_profile(name: str) -> str:
    """Return ``name`` if it is a known profile, else raise a ConfigError that suggests one."""
    if name in PROFILES:
        return name
    close = difflib.get_close_matches(str(name), PROFILES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)}.{hint}")


def profile() -> str:
    """The active profile: ``$THERMO_PROFILE`` if set (checked), else ``quick``."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return DEFAULT
    try:
        return check_profile(value)
    except ConfigError as err:
        raise ConfigError(f"{ENV_VAR}={value!r} is not valid: {err}") from None
