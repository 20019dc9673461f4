"""``bastion demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastion.cli import output


def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Keep the demo workspace in this folder.")
    ] = None,
) -> None:
    """Walk through Bastion on a throwaway workspace."""
    from bastion.demo import run_demo  # trains models: numpy and scikit-learn load only here

    code = run_demo(output.console(), keep)
    if code:
        raise typer.Exit(code)
