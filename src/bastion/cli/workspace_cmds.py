"""``bastion init``, ``login``, ``logout`` and ``mfa``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastion.cli import output
from bastion.cli.parsing import stdin_line
from bastion.cli.runtime import (
    STATE,
    acting,
    current_token,
    forget_session,
    opened,
    source_label,
    store_session,
)
from bastion.config import Secret, load_settings
from bastion.context import ANONYMOUS, Context
from bastion.errors import AuthenticationFailed, InvalidInput

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

mfa_app = typer.Typer(help="Multi-factor authentication (TOTP).", no_args_is_help=True)


def init(
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            help="Folder to create .bastion/ in (else --workspace, "
            "BASTION_WORKSPACE or the current folder).",
        ),
    ] = None,
    admin: Annotated[str, typer.Option("--admin", help="Name of the first admin.")] = "admin",
    passphrase_stdin: Annotated[
        bool,
        typer.Option(
            "--passphrase-stdin", help="Seal the keyring with a passphrase read from stdin."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a workspace: database, sealed keyring, blob folder and the first admin."""
    # Services are imported inside commands, not at module level: they load SQLAlchemy
    # and cryptography, which would slow down the start of every command.
    from bastion.bootstrap import initialize

    target = path if path is not None else STATE.workspace
    settings = load_settings(workspace=target.resolve() if target is not None else None)
    if passphrase_stdin:
        settings = settings.with_overrides(
            passphrase=Secret(stdin_line("passphrase")), master_key=None
        )
    result = initialize(settings, admin_name=admin, source=source_label())
    result.workspace.close()
    creds = result.admin
    if as_json:
        doc: dict[str, object] = {
            "workspace": str(settings.workspace),
            "admin": {
                "name": creds.name,
                "password": creds.password,
                "totp_secret": creds.totp_secret,
                "totp_uri": creds.totp_uri,
            },
        }
        if result.master_key is not None:
            doc["master_key"] = result.master_key.reveal()
        output.print_json(doc)
        return
    output.say(f"Workspace created in {settings.bastion_dir}")
    if result.master_key is not None:
        output.say("\nMaster key (shown once; store it in your secret manager, then export it):")
        output.say(f"  export BASTION_MASTER_KEY={result.master_key.reveal()}")
    output.say(f"\nFirst admin '{creds.name}' (shown once):")
    output.say(f"  password:    {creds.password}")
    output.say(f"  TOTP secret: {creds.totp_secret}")
    output.say(f"  TOTP URI:    {creds.totp_uri}")
    output.say("\nLog in with: bastion login --user " + creds.name + " --password-stdin --otp CODE")


def login(
    user: Annotated[str, typer.Option("--user", help="User name.")],
    otp: Annotated[str, typer.Option("--otp", help="Current TOTP code.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Log in with password and TOTP; the session is stored privately for this workspace."""
    from bastion.identity import sessions

    if not password_stdin:
        raise InvalidInput(
            "the password is only read from standard input",
            code="input.password_stdin_required",
            hint=(
                "Pipe it in: printf '%s\\n' \"$PW\" | "
                "bastion login --user NAME --password-stdin --otp CODE"
            ),
        )
    password = stdin_line("password")
    with opened() as ws:
        ctx = Context(principal=ANONYMOUS, source=source_label(), clock=ws.clock)
        grant = sessions.login(ws, ctx, user, password, otp)
    path = store_session(STATE.settings(), grant.token)
    if as_json:
        output.print_json(
            {
                "user": grant.principal,
                "expires_at": grant.expires_at,
                "token": grant.token,
                "stored_at": str(path),
            }
        )
        return
    output.say(f"Logged in as {grant.principal} until {output.fmt(grant.expires_at)}.")


def logout() -> None:
    """Revoke the current session server-side and forget it here."""
    from bastion.identity import sessions

    settings = STATE.settings()
    credential = current_token(settings)
    if credential is None or credential[0] != "session":
        raise AuthenticationFailed("no session to log out of", code="auth.no_session")
    with opened() as ws:
        ctx = Context(principal=ANONYMOUS, source=source_label(), clock=ws.clock)
        try:
            principal = sessions.authenticate_session(ws, ctx, credential[1])
            ctx = ctx.as_(principal)
        except AuthenticationFailed:
            forget_session(settings)
            raise
        sessions.logout(ws, ctx, credential[1])
    forget_session(settings)
    output.say("Logged out; the session is revoked.")


@mfa_app.command("enroll")
def mfa_enroll(
    user: Annotated[
        str | None, typer.Option("--user", help="Reset another user's MFA (admin).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Issue a new TOTP secret (yours, or another user's as admin); shown once."""
    from bastion.identity import principals

    with acting() as (ws, ctx):
        result = principals.enroll_mfa(ws, ctx, user)
    if as_json:
        output.print_json(
            {"user": result.name, "totp_secret": result.totp_secret, "totp_uri": result.totp_uri}
        )
        return
    output.say(f"New TOTP secret for {result.name} (shown once): {result.totp_secret}")
    output.say(f"URI: {result.totp_uri}")
