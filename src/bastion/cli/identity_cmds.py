"""``bastion user``, ``role``, ``key`` and ``access``."""

from __future__ import annotations

from typing import Annotated

import typer

from bastion.cli import output
from bastion.cli.parsing import duration
from bastion.cli.runtime import acting
from bastion.identity.permissions import PERMISSIONS  # a plain table: light

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]

user_app = typer.Typer(help="Users and service accounts.", no_args_is_help=True)
role_app = typer.Typer(help="Roles and the permissions they grant.", no_args_is_help=True)
key_app = typer.Typer(help="API keys (for service accounts and automation).", no_args_is_help=True)
access_app = typer.Typer(help="Access reviews.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[str, typer.Option("--role", help="Role to hold.")],
    service_account: Annotated[
        bool,
        typer.Option("--service-account", help="A service account (API keys only, never admin)."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a user (password and TOTP secret shown once) or a service account."""
    # Services are imported inside commands, not at module level: they load SQLAlchemy
    # and cryptography, which would slow down the start of every command.
    from bastion.identity import principals

    with acting() as (ws, ctx):
        new = principals.add_principal(ws, ctx, name, role, service_account=service_account)
    if as_json:
        output.print_json(new)
        return
    output.say(f"Created {new.kind} '{new.name}' with role {new.role}.")
    if new.password:
        output.say(f"  password (shown once):    {new.password}")
        output.say(f"  TOTP secret (shown once): {new.totp_secret}")
        output.say(f"  TOTP URI:                 {new.totp_uri}")


@user_app.command("list")
def user_list(as_json: JsonFlag = False) -> None:
    """List principals."""
    from bastion.identity import principals

    with acting() as (ws, ctx):
        rows = principals.list_principals(ws, ctx)
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        "Principals",
        ["name", "kind", "role", "disabled", "MFA", "created", "last used"],
        [
            (r.name, r.kind, r.role, r.disabled, r.mfa_enrolled, r.created_at, r.last_used_at)
            for r in rows
        ],
    )


@user_app.command("disable")
def user_disable(name: str) -> None:
    """Disable a principal and end its sessions."""
    from bastion.identity import principals

    with acting() as (ws, ctx):
        principals.disable_principal(ws, ctx, name)
    output.say(f"Disabled {name}.")


@role_app.command("list")
def role_list(as_json: JsonFlag = False) -> None:
    """List roles and their grants."""
    from bastion.identity import principals

    with acting() as (ws, ctx):
        roles = principals.list_roles(ws, ctx)
    if as_json:
        output.print_json(roles)
        return
    output.print_table(
        "Roles",
        ["role", "grants", "description"],
        [(r.name, r.grants, r.description) for r in roles],
    )


@role_app.command("permissions")
def role_permissions(as_json: JsonFlag = False) -> None:
    """The catalogue of permissions (admin ones need an MFA session)."""
    rows = [
        {"name": p.name, "admin": p.admin, "description": p.description}
        for p in PERMISSIONS.values()
    ]
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        "Permissions",
        ["permission", "admin", "description"],
        [(r["name"], r["admin"], r["description"]) for r in rows],
    )


@role_app.command("grant")
def role_grant(role: str, grants: list[str]) -> None:
    """Add grants (``perm`` or ``perm@resource-glob``) to a role."""
    from bastion.identity import principals

    with acting() as (ws, ctx):
        info = principals.change_role(ws, ctx, role, grant=grants, revoke=[])
    output.say(f"Role {info.name} now grants: {output.fmt(info.grants)}")


@role_app.command("revoke")
def role_revoke(role: str, grants: list[str]) -> None:
    """Remove grants from a role."""
    from bastion.identity import principals

    with acting() as (ws, ctx):
        info = principals.change_role(ws, ctx, role, grant=[], revoke=grants)
    output.say(f"Role {info.name} now grants: {output.fmt(info.grants)}")


@key_app.command("create")
def key_create(
    principal: Annotated[str, typer.Option("--principal", help="Who the key acts as.")],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Narrow the key: perm or perm@glob; repeat.")
    ] = None,
    expires_in: Annotated[str, typer.Option("--expires-in", help="Lifetime, e.g. 90d.")] = "90d",
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Issue an API key; the secret is printed once and never stored."""
    from bastion.identity import apikeys

    with acting() as (ws, ctx):
        new = apikeys.create_key(
            ws, ctx, principal, name=name, scopes=scope or [], ttl=duration(expires_in)
        )
    if as_json:
        output.print_json(new)
        return
    output.say(f"API key for {new.principal} (shown once; store it now):")
    output.say(f"  {new.token}")
    output.say(
        f"  prefix {new.prefix}, expires {output.fmt(new.expires_at)}, scopes "
        f"{output.fmt(new.scopes) if new.scopes else 'role'}"
    )


@key_app.command("list")
def key_list(
    principal: Annotated[str | None, typer.Option("--principal")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List keys (never their secrets)."""
    from bastion.identity import apikeys

    with acting() as (ws, ctx):
        keys = apikeys.list_keys(ws, ctx, principal)
        now = ctx.clock.now()
    if as_json:
        output.print_json([{**k.__dict__, "state": k.state(now)} for k in keys])
        return
    output.print_table(
        "API keys",
        ["prefix", "principal", "state", "scopes", "expires", "last used", "rotated to"],
        [
            (
                k.prefix,
                k.principal,
                k.state(now),
                k.scopes,
                k.expires_at,
                k.last_used_at,
                k.rotated_to,
            )
            for k in keys
        ],
    )


@key_app.command("rotate")
def key_rotate(
    prefix: str,
    overlap: Annotated[
        str, typer.Option("--overlap", help="How long the old key keeps working.")
    ] = "24h",
    as_json: JsonFlag = False,
) -> None:
    """Issue a successor key; the old one keeps working for the overlap window."""
    from bastion.identity import apikeys

    with acting() as (ws, ctx):
        new = apikeys.rotate_key(ws, ctx, prefix, overlap=duration(overlap))
    if as_json:
        output.print_json(new)
        return
    output.say(f"New key (shown once): {new.token}")
    output.say(f"The old key {prefix} keeps working for {overlap}.")


@key_app.command("revoke")
def key_revoke(prefix: str) -> None:
    """Revoke a key at once."""
    from bastion.identity import apikeys

    with acting() as (ws, ctx):
        apikeys.revoke_key(ws, ctx, prefix)
    output.say(f"Revoked {prefix}.")


@access_app.command("review")
def access_review(as_json: JsonFlag = False) -> None:
    """Every principal's effective permissions, use, stale keys and excess access."""
    from bastion.identity import review

    with acting() as (ws, ctx):
        rows = review.access_review(ws, ctx)
    if as_json:
        output.print_json(rows)
        return
    output.print_table(
        "Access review",
        ["principal", "kind", "role", "last used", "permissions", "used", "keys", "findings"],
        [
            (
                r["name"],
                r["kind"],
                r["role"],
                r["last_used_at"],
                len(r["effective_permissions"]),
                len(r["used_permissions"]),
                ", ".join(f"{k['prefix']}({k['state']})" for k in r["keys"]) or "-",
                "; ".join(r["findings"]) or "ok",
            )
            for r in rows
        ],
    )
