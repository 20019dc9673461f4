"""Classification: from what a scan found to public / internal / confidential / restricted.

The rules are data (``classification.toml`` beside this module, or the workspace's own
``.bastion/classification.toml``): each entity type maps to a level, and a dataset gets
the highest level of any type found in it. A person may override the label, with a
reason that goes to the audit log.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bastion.errors import InvalidInput

LEVELS = ("public", "internal", "confidential", "restricted")
RULES_FILENAME = "classification.toml"


@dataclass(frozen=True)
class ClassificationRules:
    """Entity type -> level, the level when nothing is found, and the store policy."""

    types: Mapping[str, str] = field(default_factory=dict)
    nothing_found: str = "internal"
    allow_restricted_unsanitized: bool = False

    def classify(self, totals: Mapping[str, int]) -> str:
        """The level for a dataset in which ``totals[type]`` values of each type were found."""
        found = [self.types.get(t, "confidential") for t, n in totals.items() if n > 0]
        return max(found, key=LEVELS.index, default=self.nothing_found)

    def restricted_types(self, totals: Mapping[str, int]) -> list[str]:
        """The types found whose rule says ``restricted``, sorted."""
        return sorted(t for t, n in totals.items() if n > 0 and self.types.get(t) == "restricted")


def _bad(message: str) -> InvalidInput:
    return InvalidInput(message, code="data.classification_rules_invalid")


def _level(value: object, where: str) -> str:
    if value not in LEVELS:
        raise _bad(f"{where}: {value!r} is not one of {', '.join(LEVELS)}")
    return str(value)


def rules_from_dict(doc: Mapping[str, Any]) -> ClassificationRules:
    """Validate a parsed rules document."""
    unknown = set(doc) - {"version", "nothing_found", "types", "store"}
    if unknown:
        raise _bad(f"unknown key(s): {', '.join(sorted(unknown))}")
    if doc.get("version", 1) != 1:
        raise _bad(f"unsupported rules version {doc.get('version')!r}")
    types = doc.get("types", {})
    store = doc.get("store", {})
    if not isinstance(types, dict) or not isinstance(store, dict):
        raise _bad("'types' and 'store' must be tables")
    if set(store) - {"allow_restricted_unsanitized"}:
        raise _bad(f"unknown store option(s): {', '.join(sorted(set(store)))}")
    allow = store.get("allow_restricted_unsanitized", False)
    if not isinstance(allow, bool):
        raise _bad("store.allow_restricted_unsanitized must be true or false")
    return ClassificationRules(
        types={str(t): _level(v, f"types.{t}") for t, v in types.items()},
        nothing_found=_level(doc.get("nothing_found", "internal"), "nothing_found"),
        allow_restricted_unsanitized=allow,
    )


def load_rules(bastion_dir: Path | None = None) -> ClassificationRules:
    """The workspace's rules if it has its own file, else Bastion's defaults."""
    local = bastion_dir / RULES_FILENAME if bastion_dir is not None else None
    try:
        if local is not None and local.is_file():
            text = local.read_text(encoding="utf-8")
        else:
            text = resources.files("bastion.data").joinpath(RULES_FILENAME).read_text("utf-8")
        return rules_from_dict(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise _bad(f"{local}: not valid TOML: {exc}") from exc
