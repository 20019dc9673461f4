"""Entry point: the root Typer app and the one place where errors become exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bastion.cli import (
    data_cmds,  # noqa: F401  (registers data scan/sanitize/... commands)
    output,
)
from bastion.cli.audit_cmds import audit_app
from bastion.cli.demo import demo
from bastion.cli.deps_cmds import deps_app
from bastion.cli.identity_cmds import access_app, key_app, role_app, user_app
from bastion.cli.keyring_cmds import keyring_app
from bastion.cli.model_cmds import model_app
from bastion.cli.runtime import STATE
from bastion.cli.serve_cmds import serve
from bastion.cli.vault_cmds import data_app
from bastion.cli.workspace_cmds import init, login, logout, mfa_app
from bastion.errors import BastionError

app = typer.Typer(
    name="bastion",
    help="Bastion: the security control plane for AI systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Workspace folder (else BASTION_WORKSPACE or cwd)."),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Act with this API key (else BASTION_API_KEY).")
    ] = None,
) -> None:
    """Global options."""
    STATE.workspace = workspace
    STATE.api_key = api_key
    STATE.settings_cache.clear()


app.command("init")(init)
app.command("login")(login)
app.command("logout")(logout)
app.command("demo")(demo)
app.command("serve")(serve)
app.add_typer(user_app, name="user")
app.add_typer(role_app, name="role")
app.add_typer(key_app, name="key")
app.add_typer(mfa_app, name="mfa")
app.add_typer(access_app, name="access")
app.add_typer(audit_app, name="audit")
app.add_typer(keyring_app, name="keyring")
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")
app.add_typer(deps_app, name="deps")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors never show a traceback."""
    args = sys.argv[1:] if argv is None else argv
    STATE.workspace = None
    STATE.api_key = None
    STATE.settings_cache.clear()
    try:
        # Standalone mode: Typer renders its own usage errors and exits via SystemExit.
        app(args=args, prog_name="bastion")
    except BastionError as error:
        output.render_error(error, as_json="--json" in args)
        return error.exit_code
    except SystemExit as exc:
        if exc.code is None:
            return 0
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
