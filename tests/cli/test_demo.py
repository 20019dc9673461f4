"""``bastion demo``: the guided tour runs end to end on a throwaway workspace."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.cli.conftest import Cli


def test_demo_completes_and_catches_tampering(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    result = cli.ok("demo")
    assert "demo complete" in result.out
    assert "caught" in result.out
    assert "Traceback" not in result.out + result.err
    assert list(scratch.iterdir()) == []  # the throwaway workspace was removed
    assert not (cli.workspace / ".bastion").exists()
