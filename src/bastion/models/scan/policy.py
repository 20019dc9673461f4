"""Which pickle globals are safe to import: an allow-list, a block-list, and the rest.

Unpickling imports every global the stream names and may call it, so each global is
judged on its own. The lists are data (``policy.toml`` beside this module): known-safe
names from NumPy, scikit-learn, PyTorch, SciPy, XGBoost, LightGBM and the standard
containers pass; known-dangerous callables (process execution, code evaluation,
dynamic import, file and network access, nested deserializers, attribute gadgets) are
critical; anything else is flagged as unknown, never trusted. Class patterns
(``sklearn.*.CamelCase``) admit only plain, undotted names, because protocol 4
resolves dotted names through attributes (``sklearn.base`` + ``os.system`` would
reach ``os.system``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

from bastion.models.scan.base import Severity

_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9_]*")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class GlobalsPolicy:
    """The allow-list and block-list, as loaded from ``policy.toml``."""

    safe_globals: frozenset[str]
    class_packages: tuple[str, ...]
    unsafe_submodules: frozenset[str]
    dangerous_modules: frozenset[str]
    dangerous_names: frozenset[str]

    @classmethod
    def from_toml(cls, text: str) -> GlobalsPolicy:
        """Parse a policy document."""
        doc: dict[str, Any] = tomllib.loads(text)
        safe, dangerous = doc["safe"], doc["dangerous"]
        return cls(
            frozenset(safe["globals"]),
            tuple(safe["class_packages"]),
            frozenset(safe["unsafe_submodules"]),
            frozenset(dangerous["modules"]),
            frozenset(dangerous["names"]),
        )


@cache
def default_policy() -> GlobalsPolicy:
    """The policy shipped with Bastion."""
    return GlobalsPolicy.from_toml(files(__package__).joinpath("policy.toml").read_text())


@dataclass(frozen=True)
class Judgement:
    """What the policy says about one global; ``severity`` is None for safe ones."""

    severity: Severity | None
    reason: str


def _in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _safe_by_pattern(policy: GlobalsPolicy, module: str, name: str) -> bool:
    if not _MODULE.fullmatch(module) or policy.unsafe_submodules.intersection(module.split(".")):
        return False
    if name == "newObj" and _in_package(module, "sklearn"):
        return True  # scikit-learn's Cython types are rebuilt through cls.__new__ only
    if not _CLASS_NAME.fullmatch(name) or name in policy.dangerous_names:
        return False
    if module == "torch" and name.endswith("Storage"):
        return True
    return any(_in_package(module, package) for package in policy.class_packages)


def judge_global(module: str, name: str, policy: GlobalsPolicy | None = None) -> Judgement:
    """Judge ``module.name`` as a pickle would import it."""
    return _judge(module, name, policy or default_policy())


@lru_cache(maxsize=8192)
def _judge(module: str, name: str, policy: GlobalsPolicy) -> Judgement:
    # The same few hundred globals recur across a model zoo: judge each once.
    dotted = f"{module}.{name}"
    if dotted in policy.safe_globals or _safe_by_pattern(policy, module, name):
        return Judgement(None, "allow-listed")
    if any(
        _in_package(module, blocked) or _in_package(dotted, blocked)
        for blocked in policy.dangerous_modules
    ):
        return Judgement(Severity.CRITICAL, f"dangerous callable {dotted}")
    if name.rsplit(".", 1)[-1] in policy.dangerous_names:
        return Judgement(Severity.HIGH, f"{dotted} has the name of a dangerous callable")
    if "." in name:
        return Judgement(Severity.HIGH, f"dotted name {dotted} reaches through attributes")
    return Judgement(Severity.MEDIUM, f"{dotted} is not on the allow-list of known-safe globals")
