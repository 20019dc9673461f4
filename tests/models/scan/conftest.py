"""Fixtures for the model-scanner tests: the labelled corpus and the "nothing ran" check.

The corpus's malicious payloads, and the ones these tests assemble, would create a
``/tmp/bastion_pwned_*`` marker if anything ever unpickled or loaded them. Nothing here
does; the session fixture proves it by comparing the markers before and after.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The shared data sets sit beside the checkout (../shared/data), in development and in CI.
CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "modelscan" / "dev"
MARKERS = "/tmp/bastion_pwned_*"


@pytest.fixture(scope="session", autouse=True)
def nothing_ran() -> Iterator[None]:
    """Fail the session if any payload marker appeared while the tests ran."""
    before = set(glob.glob(MARKERS))
    yield
    appeared = set(glob.glob(MARKERS)) - before
    assert not appeared, f"a payload ran during the tests: {sorted(appeared)}"


def corpus_labels() -> dict[str, dict[str, Any]]:
    """``labels.json`` of the DEV corpus (a missing corpus is a failure, never a skip)."""
    labels_file = CORPUS / "labels.json"
    assert labels_file.is_file(), f"the model-scan corpus is missing: {labels_file}"
    labels: dict[str, dict[str, Any]] = json.loads(labels_file.read_text())
    return labels
