"""Role x permission matrix, and the same policy enforced on the real operation path."""

from __future__ import annotations

import pytest

from bastion.audit import service as audit_service
from bastion.audit.store import AuditQuery
from bastion.context import ANONYMOUS, SYSTEM, AuthMethod, Context, Principal, PrincipalKind
from bastion.errors import (
    AuthenticationFailed,
    InvalidInput,
    MfaRequired,
    NotFound,
    PermissionDenied,
)
from bastion.identity import apikeys, principals
from bastion.identity.access import check
from bastion.identity.permissions import ADMIN_PERMISSIONS, PERMISSIONS
from bastion.identity.policy import (
    DEFAULT_ROLES,
    expand,
    grant_covers,
    holds_admin,
    validate_grant,
)
from bastion.operation import operation
from tests.conftest import Env
from tests.identity.helpers import events, key_context, service_account

# The intended policy, written out independently of policy.py: a change to DEFAULT_ROLES
# (or a new permission in the catalogue) must be a deliberate edit here too.
EXPECTED: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "data_scientist": frozenset(
        {
            "data:list",
            "data:read",
            "data:write",
            "data:scan",
            "model:list",
            "model:read",
            "model:register",
            "model:predict",
            "metrics:read",
            "report:read",
            "lab:run",
            "privacy:train",
        }
    ),
    "engineer": frozenset(
        {
            "data:list",
            "model:list",
            "model:read",
            "model:register",
            "model:deploy",
            "model:predict",
            "model:review",
            "metrics:read",
            "alert:read",
            "alert:ack",
        }
    ),
    "analyst": frozenset({"data:list", "model:list", "metrics:read", "alert:read", "report:read"}),
    "executive": frozenset({"report:read", "metrics:read"}),
    "auditor": frozenset({"audit:read", "audit:verify", "audit:export"}),
    "service": frozenset({"model:list", "model:predict"}),
}

CATALOGUE = frozenset(
    {
        "user:create",
        "user:read",
        "user:disable",
        "role:read",
        "role:write",
        "key:create",
        "key:read",
        "key:rotate",
        "key:revoke",
        "access:review",
        "keyring:manage",
        "audit:read",
        "audit:verify",
        "audit:export",
        "data:list",
        "data:read",
        "data:write",
        "data:scan",
        "data:detokenize",
        "model:list",
        "model:read",
        "model:register",
        "model:deploy",
        "model:predict",
        "model:review",
        "metrics:read",
        "alert:read",
        "alert:ack",
        "lab:run",
        "privacy:train",
        "report:read",
        "incident:manage",
    }
)

EXPECTED_ADMIN = frozenset(
    {
        "user:create",
        "user:disable",
        "role:write",
        "key:create",
        "key:rotate",
        "key:revoke",
        "access:review",
        "keyring:manage",
    }
)

PAIRS = [(role, perm) for role in sorted(DEFAULT_ROLES) for perm in sorted(PERMISSIONS)]


def mfa_user(role: str) -> Principal:
    """A human who logged in with password + TOTP."""
    return Principal(
        id=1, name=f"u-{role}", kind=PrincipalKind.USER, role=role, auth=AuthMethod.MFA_SESSION
    )


def key_user(
    role: str, kind: PrincipalKind = PrincipalKind.USER, scopes: tuple[str, ...] = ()
) -> Principal:
    """A principal authenticated by API key."""
    return Principal(
        id=2, name=f"k-{role}", kind=kind, role=role, auth=AuthMethod.API_KEY, scopes=scopes
    )


def grants_of(role: str) -> list[str]:
    return list(DEFAULT_ROLES[role][1])


# -- the catalogue and the shipped roles -------------------------------------------------


def test_catalogue_is_the_reviewed_one() -> None:
    assert set(PERMISSIONS) == CATALOGUE
    assert ADMIN_PERMISSIONS == EXPECTED_ADMIN
    assert all(PERMISSIONS[p].admin == (p in EXPECTED_ADMIN) for p in CATALOGUE)


def test_default_roles_grant_exactly_the_reviewed_permissions() -> None:
    assert set(DEFAULT_ROLES) == set(EXPECTED)
    for role, (_description, grants) in DEFAULT_ROLES.items():
        assert set(expand(grants)) == EXPECTED[role], role
        for grant in grants:
            assert validate_grant(grant) == grant


def test_only_admin_holds_admin_permissions_by_default() -> None:
    for role, (_description, grants) in DEFAULT_ROLES.items():
        assert holds_admin(grants) is (role == "admin"), role


def test_separation_of_duties() -> None:
    shipped = {role: set(expand(grants)) for role, (_d, grants) in DEFAULT_ROLES.items()}
    for role in ("analyst", "executive", "auditor", "service", "engineer"):
        assert "data:read" not in shipped[role], role
        assert "data:detokenize" not in shipped[role], role
    for role in ("analyst", "executive", "engineer", "data_scientist", "service"):
        assert not {"audit:read", "audit:verify", "audit:export"} & shipped[role], role
    assert {p.partition(":")[0] for p in shipped["auditor"]} == {"audit"}


# -- the matrix, through the pure check -------------------------------------------------


@pytest.mark.parametrize(("role", "permission"), PAIRS)
def test_matrix_mfa_user(role: str, permission: str) -> None:
    principal = mfa_user(role)
    if permission in EXPECTED[role]:
        check(principal, grants_of(role), permission, "")
        check(principal, grants_of(role), permission, "some/resource")
    else:
        with pytest.raises(PermissionDenied) as err:
            check(principal, grants_of(role), permission, "some/resource")
        assert err.value.code == "access.denied"


@pytest.mark.parametrize(("role", "permission"), PAIRS)
def test_matrix_api_key(role: str, permission: str) -> None:
    """Keys get the same non-admin permissions; admin permissions always need MFA."""
    principal = key_user(role)
    if permission not in EXPECTED[role]:
        with pytest.raises(PermissionDenied):
            check(principal, grants_of(role), permission, "")
    elif permission in ADMIN_PERMISSIONS:
        with pytest.raises(MfaRequired) as err:
            check(principal, grants_of(role), permission, "")
        assert err.value.code == "auth.mfa_required"
    else:
        check(principal, grants_of(role), permission, "")


@pytest.mark.parametrize("permission", sorted(ADMIN_PERMISSIONS))
def test_admin_permissions_need_a_human_mfa_session(permission: str) -> None:
    for principal in (
        key_user("admin"),
        key_user("admin", scopes=("*",)),
        key_user("admin", kind=PrincipalKind.SERVICE),
        Principal(
            id=3, name="svc", kind=PrincipalKind.SERVICE, role="admin", auth=AuthMethod.MFA_SESSION
        ),
    ):
        with pytest.raises(MfaRequired) as err:
            check(principal, ["*"], permission, "")
        assert err.value.code == "auth.mfa_required"
    check(mfa_user("admin"), ["*"], permission, "")


@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_anonymous_is_refused_everything(permission: str) -> None:
    with pytest.raises(AuthenticationFailed) as err:
        check(ANONYMOUS, ["*"], permission, "")
    assert not isinstance(err.value, MfaRequired)
    assert err.value.code == "auth.failed"


@pytest.mark.parametrize("permission", ["nope:nope", "", "*", "data", "DATA:READ", "data:read "])
def test_unknown_permission_is_denied_even_to_admin_and_system(permission: str) -> None:
    for principal in (mfa_user("admin"), SYSTEM):
        with pytest.raises(PermissionDenied) as err:
            check(principal, ["*", permission], permission, "")
        assert err.value.code == "access.unknown_permission"


def test_system_principal_may_do_anything_known() -> None:
    for permission in PERMISSIONS:
        check(SYSTEM, [], permission, "")


def test_empty_grants_deny_everything() -> None:
    for permission in PERMISSIONS:
        with pytest.raises(PermissionDenied):
            check(mfa_user("nobody"), [], permission, "")


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        ("fraud-v2", True),
        ("fraud-", True),
        ("other-model", False),
        ("", False),
        ("xfraud-v2", False),
        ("FRAUD-v2", False),
    ],
)
def test_resource_glob_grant(resource: str, allowed: bool) -> None:
    grants = ["model:list", "model:predict@fraud-*"]
    principal = mfa_user("svc")
    assert grant_covers("model:predict@fraud-*", "model:predict", resource) is allowed
    if allowed:
        check(principal, grants, "model:predict", resource)
    else:
        with pytest.raises(PermissionDenied) as err:
            check(principal, grants, "model:predict", resource)
        assert err.value.code == "access.denied"
    # The glob limits one permission only; it does not leak to others.
    with pytest.raises(PermissionDenied):
        check(principal, grants, "model:read", "fraud-v2")


def test_scopes_narrow_and_never_widen() -> None:
    role = ["model:list", "model:predict"]
    narrow = key_user("service", PrincipalKind.SERVICE, scopes=("model:predict@fraud-*",))
    check(narrow, role, "model:predict", "fraud-v2")
    with pytest.raises(PermissionDenied) as err:
        check(narrow, role, "model:predict", "other-model")
    assert err.value.code == "access.scope_denied"
    with pytest.raises(PermissionDenied) as err:
        check(narrow, role, "model:list", "")
    assert err.value.code == "access.scope_denied"
    # A scope naming more than the role holds grants nothing extra.
    wide = key_user("service", PrincipalKind.SERVICE, scopes=("*", "data:read"))
    with pytest.raises(PermissionDenied) as err:
        check(wide, role, "data:read", "")
    assert err.value.code == "access.denied"
    # An unlimited scope on a resource-limited role stays limited by the role.
    limited = key_user("service", PrincipalKind.SERVICE, scopes=("model:predict",))
    with pytest.raises(PermissionDenied):
        check(limited, ["model:predict@fraud-*"], "model:predict", "other-model")
    check(limited, ["model:predict@fraud-*"], "model:predict", "fraud-1")


@pytest.mark.parametrize(
    ("grant", "code"),
    [
        ("nope:nope", "policy.unknown_permission"),
        ("model:predict@", "policy.bad_grant"),
        ("", "policy.unknown_permission"),
        ("*@x", "policy.unknown_permission"),
    ],
)
def test_validate_grant_rejects_bad_grants(grant: str, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_grant(grant)
    assert err.value.code == code


# -- the same policy on the operation path ----------------------------------------------


def attempt(env: Env, ctx: Context, permission: str, resource: str = "") -> None:
    """Run an (empty) operation needing ``permission``: the path every service takes."""
    with operation(env.ws, ctx, "test.attempt", permission=permission, resource=resource):
        pass


def denied_for(env: Env, actor: str) -> list[tuple[str, str | None, str | None]]:
    """(action, permission, error code) of the denied events of one actor."""
    return [
        (e.action, e.details_dict().get("permission"), e.details_dict().get("error"))
        for e in events(env, outcome="denied", actor=actor)
    ]


def test_auditor_reads_audit_but_not_users(env: Env) -> None:
    auditor = env.user("audrey", "auditor")
    found = audit_service.query_events(env.ws, auditor, AuditQuery(action="user.create"))
    assert [e.resource for e in found] == ["principal/admin", "principal/audrey"]
    assert audit_service.verify(env.ws, auditor).events > 0
    assert list(audit_service.export(env.ws, auditor, "jsonl", AuditQuery(limit=1)))
    with pytest.raises(PermissionDenied) as err:
        principals.list_principals(env.ws, auditor)
    assert err.value.code == "access.denied"
    for permission in ("data:read", "model:predict", "key:read", "role:read"):
        with pytest.raises(PermissionDenied):
            attempt(env, auditor, permission)
    assert denied_for(env, "audrey") == [
        ("user.list", "user:read", "access.denied"),
        ("test.attempt", "data:read", "access.denied"),
        ("test.attempt", "model:predict", "access.denied"),
        ("test.attempt", "key:read", "access.denied"),
        ("test.attempt", "role:read", "access.denied"),
    ]


def test_engineer_cannot_read_raw_data(env: Env) -> None:
    engineer = env.user("erin", "engineer")
    attempt(env, engineer, "data:list", "dataset/claims")
    attempt(env, engineer, "model:deploy", "model/fraud")
    with pytest.raises(PermissionDenied):
        attempt(env, engineer, "data:read", "dataset/claims")
    with pytest.raises(PermissionDenied):
        audit_service.query_events(env.ws, engineer, AuditQuery())
    [read, audit] = events(env, outcome="denied", actor="erin")
    assert (read.action, read.resource) == ("test.attempt", "dataset/claims")
    assert read.details_dict() == {"permission": "data:read", "error": "access.denied"}
    assert (audit.action, audit.details_dict()["permission"]) == ("audit.query", "audit:read")
    successes = events(env, outcome="success", actor="erin", action="test.attempt")
    assert [e.details_dict()["permission"] for e in successes] == ["data:list", "model:deploy"]


@pytest.mark.parametrize("role", ["analyst", "executive"])
def test_readers_never_see_raw_data_or_the_audit_log(env: Env, role: str) -> None:
    reader = env.user("reader", role)
    attempt(env, reader, "report:read")
    attempt(env, reader, "metrics:read")
    with pytest.raises(PermissionDenied):
        attempt(env, reader, "data:read", "dataset/claims")
    with pytest.raises(PermissionDenied):
        audit_service.query_events(env.ws, reader, AuditQuery())
    with pytest.raises(PermissionDenied):
        audit_service.verify(env.ws, reader)
    with pytest.raises(PermissionDenied):
        list(audit_service.export(env.ws, reader, "jsonl", AuditQuery()))
    assert denied_for(env, "reader") == [
        ("test.attempt", "data:read", "access.denied"),
        ("audit.query", "audit:read", "access.denied"),
        ("audit.verify", "audit:verify", "access.denied"),
        ("audit.export", "audit:export", "access.denied"),
    ]


def test_admin_permissions_refused_with_api_key(env: Env) -> None:
    key = apikeys.create_key(env.ws, env.admin, "admin", scopes=["*"])
    via_key = key_context(env, key.token)
    assert via_key.principal.role == "admin"
    # Non-admin permissions work with the key...
    assert [p.name for p in principals.list_principals(env.ws, via_key)] == ["admin"]
    # ...admin ones never do, although the role grants them.
    with pytest.raises(MfaRequired) as err:
        principals.add_principal(env.ws, via_key, "mallory", "admin")
    assert err.value.code == "auth.mfa_required"
    with pytest.raises(MfaRequired):
        apikeys.create_key(env.ws, via_key, "admin")
    with pytest.raises(MfaRequired):
        principals.change_role(env.ws, via_key, "analyst", grant=["data:read"], revoke=[])
    assert [p.name for p in principals.list_principals(env.ws, env.admin)] == ["admin"]
    assert (
        "data:read"
        not in next(
            r for r in principals.list_roles(env.ws, env.admin) if r.name == "analyst"
        ).grants
    )
    assert denied_for(env, "admin") == [
        ("user.create", "user:create", "auth.mfa_required"),
        ("key.create", "key:create", "auth.mfa_required"),
        ("role.update", "role:write", "auth.mfa_required"),
    ]


def test_service_accounts_never_hold_admin_roles(env: Env) -> None:
    with pytest.raises(InvalidInput) as err:
        principals.add_principal(env.ws, env.admin, "bot", "admin", service_account=True)
    assert err.value.code == "identity.service_account_admin"
    # A role that gained an admin grant is refused to service accounts too.
    principals.change_role(env.ws, env.admin, "auditor", grant=["access:review"], revoke=[])
    with pytest.raises(InvalidInput) as err:
        principals.add_principal(env.ws, env.admin, "bot", "auditor", service_account=True)
    assert err.value.code == "identity.service_account_admin"
    assert [p.name for p in principals.list_principals(env.ws, env.admin)] == ["admin"]
    [refused, _] = events(env, action="user.create", outcome="error")
    assert refused.details_dict()["error"] == "identity.service_account_admin"
    # Humans may hold the same role.
    principals.add_principal(env.ws, env.admin, "alice", "auditor")


@pytest.mark.parametrize("grant", ["user:create", "key:create@principal/*", "*"])
def test_role_held_by_a_service_account_cannot_gain_admin(env: Env, grant: str) -> None:
    service_account(env, "bot", "engineer")
    before = next(r for r in principals.list_roles(env.ws, env.admin) if r.name == "engineer")
    with pytest.raises(InvalidInput) as err:
        principals.change_role(env.ws, env.admin, "engineer", grant=[grant], revoke=[])
    assert err.value.code == "identity.service_account_admin"
    after = next(r for r in principals.list_roles(env.ws, env.admin) if r.name == "engineer")
    assert after.grants == before.grants
    # Non-admin grants are still fine for that role.
    info = principals.change_role(env.ws, env.admin, "engineer", grant=["report:read"], revoke=[])
    assert "report:read" in info.grants


def test_scope_exceeding_role_refused(env: Env) -> None:
    principals.add_principal(env.ws, env.admin, "bot", "service", service_account=True)
    for scopes in (["data:read"], ["model:predict", "model:deploy"], ["user:create"]):
        with pytest.raises(InvalidInput) as err:
            apikeys.create_key(env.ws, env.admin, "bot", scopes=scopes)
        assert err.value.code == "identity.scope_exceeds_role"
    with pytest.raises(InvalidInput) as err:
        apikeys.create_key(env.ws, env.admin, "bot", scopes=["nope:nope"])
    assert err.value.code == "policy.unknown_permission"
    assert apikeys.list_keys(env.ws, env.admin, "bot") == []


def test_scoped_key_narrows_on_the_operation_path(env: Env) -> None:
    key = service_account(env, "bot", scopes=["model:predict@fraud-*"])
    assert key.scopes == ["model:predict@fraud-*"]
    bot = key_context(env, key.token)
    assert bot.principal.scopes == ("model:predict@fraud-*",)
    attempt(env, bot, "model:predict", "fraud-v2")
    with pytest.raises(PermissionDenied) as err:
        attempt(env, bot, "model:predict", "other-model")
    assert err.value.code == "access.scope_denied"
    with pytest.raises(PermissionDenied) as err:
        attempt(env, bot, "model:list")
    assert err.value.code == "access.scope_denied"
    assert [d[2] for d in denied_for(env, "bot")] == ["access.scope_denied"] * 2


def test_resource_glob_grant_on_the_operation_path(env: Env) -> None:
    principals.change_role(
        env.ws, env.admin, "service", grant=["model:predict@fraud-*"], revoke=["model:predict"]
    )
    # An unlimited scope is allowed for the permission, but cannot escape the role's glob.
    key = service_account(env, "bot", scopes=["model:predict"])
    bot = key_context(env, key.token)
    attempt(env, bot, "model:predict", "fraud-v2")
    with pytest.raises(PermissionDenied) as err:
        attempt(env, bot, "model:predict", "other-model")
    assert err.value.code == "access.denied"
    [denied] = events(env, outcome="denied", actor="bot")
    assert denied.resource == "other-model"


def test_unknown_permission_denied_on_the_operation_path(env: Env) -> None:
    with pytest.raises(PermissionDenied) as err:
        attempt(env, env.admin, "data:teleport")
    assert err.value.code == "access.unknown_permission"
    assert denied_for(env, "admin") == [
        ("test.attempt", "data:teleport", "access.unknown_permission")
    ]


def test_anonymous_refused_on_the_operation_path(env: Env) -> None:
    with pytest.raises(AuthenticationFailed) as err:
        principals.list_principals(env.ws, env.anon())
    assert err.value.code == "auth.failed"
    with pytest.raises(AuthenticationFailed):
        audit_service.query_events(env.ws, env.anon(), AuditQuery())
    assert denied_for(env, "anonymous") == [
        ("user.list", "user:read", "auth.failed"),
        ("audit.query", "audit:read", "auth.failed"),
    ]


def test_role_changes_apply_at_once_and_are_audited(env: Env) -> None:
    analyst = env.user("ana", "analyst")
    with pytest.raises(PermissionDenied):
        attempt(env, analyst, "data:read", "dataset/claims")

    info = principals.change_role(env.ws, env.admin, "analyst", grant=["data:read"], revoke=[])
    assert "data:read" in info.grants
    attempt(env, analyst, "data:read", "dataset/claims")  # same session, no re-login

    info = principals.change_role(
        env.ws, env.admin, "analyst", grant=[], revoke=["data:read", "report:read"]
    )
    assert "data:read" not in info.grants and "report:read" not in info.grants
    for permission in ("data:read", "report:read"):
        with pytest.raises(PermissionDenied):
            attempt(env, analyst, permission)
    attempt(env, analyst, "metrics:read")

    default = ["data:list", "model:list", "metrics:read", "alert:read", "report:read"]
    granted, revoked = events(env, action="role.update", outcome="success")
    assert granted.actor == revoked.actor == "admin"
    assert granted.resource == "role/analyst"
    assert granted.details_dict()["before"] == default
    assert granted.details_dict()["after"] == [*default, "data:read"]
    assert revoked.details_dict()["before"] == [*default, "data:read"]
    assert revoked.details_dict()["after"] == [
        "data:list",
        "model:list",
        "metrics:read",
        "alert:read",
    ]


def test_role_change_adds_each_grant_once(env: Env) -> None:
    info = principals.change_role(
        env.ws,
        env.admin,
        "executive",
        grant=["alert:read", "alert:read", "report:read"],
        revoke=[],
    )
    assert info.grants == ["alert:read", "metrics:read", "report:read"]
    [stored] = [r for r in principals.list_roles(env.ws, env.admin) if r.name == "executive"]
    assert stored.grants == ["report:read", "metrics:read", "alert:read"]


def test_role_changes_are_validated_and_need_role_write(env: Env) -> None:
    engineer = env.user("erin", "engineer")
    with pytest.raises(PermissionDenied):
        principals.change_role(env.ws, engineer, "engineer", grant=["data:read"], revoke=[])
    with pytest.raises(InvalidInput) as err:
        principals.change_role(env.ws, env.admin, "engineer", grant=["data:teleport"], revoke=[])
    assert err.value.code == "policy.unknown_permission"
    with pytest.raises(NotFound) as nf:
        principals.change_role(env.ws, env.admin, "wizard", grant=["data:read"], revoke=[])
    assert nf.value.code == "identity.role_not_found"
    roles = {r.name: r.grants for r in principals.list_roles(env.ws, env.admin)}
    assert set(roles["engineer"]) == EXPECTED["engineer"]
    attempt(env, engineer, "model:deploy")
    with pytest.raises(PermissionDenied):
        attempt(env, engineer, "data:read")


def test_revoking_a_grant_the_role_does_not_hold_is_an_error(env: Env) -> None:
    from bastion.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        principals.change_role(env.ws, env.admin, "admin", grant=[], revoke=["user:create"])
    assert caught.value.code == "identity.grant_not_held"
    [role] = [r for r in principals.list_roles(env.ws, env.admin) if r.name == "admin"]
    assert role.grants == ["*"]
