"""Competitors' virtualenvs under ``bench/.venvs/<name>/`` (gitignored): made once, reused
while their requirement list is unchanged, and their installed versions for the report."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

VENVS = Path(__file__).resolve().parent / ".venvs"


def ensure_venv(
    name: str, requirements: Sequence[str], *, env: Mapping[str, str] | None = None
) -> Path:
    """Create ``bench/.venvs/<name>`` and install ``requirements`` into it, once."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    stamp = venv / "bench-requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return venv
    print(f"setting up {venv} ({' '.join(requirements)}) ...", file=sys.stderr)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
        check=True,
        env=None if env is None else dict(env),
    )
    stamp.write_text(wanted)
    return venv


def venv_versions(
    venv: Path, packages: Iterable[str], *, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Installed versions of ``packages`` (those present), and the venv's Python."""
    python = str(venv / "bin" / "python")
    run_env = None if env is None else dict(env)
    cp = subprocess.run(
        [python, "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        env=run_env,
    )
    installed = {p["name"].lower(): p["version"] for p in json.loads(cp.stdout)}
    versions = {name: installed[name] for name in packages if name in installed}
    py = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
        env=run_env,
    )
    versions["python"] = py.stdout.strip()
    return versions
