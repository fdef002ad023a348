"""Assignment profiles. ``load_profile(name_or_path)`` returns a Profile instance."""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

KNOWN = ("hw4",)


def load_profile(name: str):
    """A built-in profile by name, or a profile file (a .py defining ``PROFILE``) by path."""
    if name in KNOWN:
        return importlib.import_module(f"profiles.{name}").PROFILE
    path = Path(name)
    if path.suffix == ".py" and path.is_file():
        spec = importlib.util.spec_from_file_location(f"profile_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not hasattr(module, "PROFILE"):
            raise ValueError(f"{path} defines no PROFILE")
        return module.PROFILE
    raise ValueError(f"unknown profile {name!r}; built-in profiles: {', '.join(KNOWN)} (or give a path to a profile .py)")
