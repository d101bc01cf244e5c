"""The shipped policy presets (TOML) and the loader that turns a file into a Policy."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from fairdeal.domain.errors import PolicyError
from fairdeal.domain.policy import Policy

PRESETS = ("standard", "classic")


def load_preset(name: str) -> Policy:
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return Policy.from_mapping(tomllib.loads(text), source=f"{name}.toml")


def load_policy(spec: str) -> Policy:
    """A preset by name, or a policy file by path; a broken file fails naming the field."""
    if spec in PRESETS:
        return load_preset(spec)
    path = Path(spec)
    if not path.is_file():
        raise PolicyError(f"policy {spec!r} is neither a preset ({', '.join(PRESETS)}) nor a file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{path}: not valid TOML: {error}") from None
    return Policy.from_mapping(data, source=str(path))


def all_policies(active: Policy) -> dict[str, Policy]:
    """Every policy a stored dispute may name: the presets and the active one."""
    known = {name: load_preset(name) for name in PRESETS}
    known[active.name] = active
    return known
