"""The CLI starts light: services (SQLAlchemy, ML libraries) load only in the commands that
need them, so ``bastion --help`` and ``bastion model scan`` do not pay for them."""

from __future__ import annotations

import inspect
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.cli import keyring_cmds
from bastion.vault import keys

HEAVY = ("sqlalchemy", "alembic", "numpy", "onnx", "sklearn")

# Run in a fresh interpreter: the test process itself has imported everything already.
REPORT = (
    "import json, sys\n"
    "{setup}\n"
    "heavy = {heavy!r}\n"
    "print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set(heavy))))\n"
)


def _heavy_modules_after(setup: str) -> list[str]:
    code = REPORT.format(setup=setup, heavy=HEAVY)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _heavy_modules_after("import bastion.cli.main") == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["model", "--help"],
        ["data", "--help"],
        ["keyring", "rotate", "--help"],
        ["audit", "query", "--help"],
    ],
)
def test_help_loads_no_heavy_library(argv: list[str]) -> None:
    setup = (
        "import contextlib, io\n"
        "from bastion.cli.main import run\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert run({argv!r}) == 0\n"
    )
    assert _heavy_modules_after(setup) == []


def test_model_scan_loads_no_heavy_library(tmp_path: Path) -> None:
    model = tmp_path / "weights.pkl"
    model.write_bytes(pickle.dumps({"w": [0.5, 1.5]}))
    setup = (
        "import contextlib, io\n"
        "from bastion.cli.main import run\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert run(['model', 'scan', {str(model)!r}, '--json']) == 0\n"
    )
    assert _heavy_modules_after(setup) == []


def test_keyring_batch_default_matches_the_vault() -> None:
    # keyring_cmds spells the default out so that it need not import bastion.vault.keys.
    batch_size = inspect.signature(keyring_cmds.keyring_rotate).parameters["batch_size"]
    assert batch_size.default == keys.DEFAULT_BATCH
