"""Every error Bastion raises on purpose, with a stable dotted code.

The tree::

    BastionError                      bastion.error            exit 1  HTTP 500
    +-- InvalidInput                  input.invalid            exit 2  HTTP 400
    +-- NotFound                      *.not_found              exit 3  HTTP 404
    +-- Conflict                      *.exists                 exit 4  HTTP 409
    +-- AuthenticationFailed          auth.failed              exit 5  HTTP 401
    |   +-- SessionExpired            auth.session_expired
    |   +-- MfaRequired               auth.mfa_required
    +-- PermissionDenied              access.denied            exit 6  HTTP 403
    +-- WorkspaceError                workspace.*              exit 7  HTTP 500
    +-- KeyringError                  keyring.*                exit 8  HTTP 500
    |   +-- WrongMasterKey            keyring.wrong_master_key
    +-- DecryptionFailed              crypto.decrypt_failed    exit 8  HTTP 500
        (defined in bastion.crypto.aead: opaque on purpose)
    +-- StorageError                  db.*                     exit 9  HTTP 503
    +-- AuditError                    audit.*                  exit 10 HTTP 500
        +-- AuditChainBroken          audit.tampered
    +-- EncryptedObjectError          vault.*                  exit 11 HTTP 500
        vault.tampered, vault.truncated, vault.wrong_key, vault.unknown_algorithm,
        vault.corrupt: an encrypted object that cannot be trusted; never partial output
    +-- ModelRejected                 model.rejected           exit 12 HTTP 422
        model.malicious, model.suspicious, model.unscanned, model.not_clean, model.changed,
        model.unloadable_format, model.load_failed: the supply-chain policy refused a model
    +-- SignatureInvalid              signature.invalid        exit 13 HTTP 422
        signature.mismatch (files changed, added or removed), signature.bad_signature,
        signature.unknown_key, signature.malformed
    +-- DependencyAuditError          deps.*                   exit 14 HTTP 503
        deps.unreachable, deps.audit_failed: the vulnerability audit cannot vouch for
        the environment (never reported as "no known vulnerabilities")
    +-- DataRejected                  data.rejected            exit 15 HTTP 422
        data.restricted_unsanitized, data.override_reason_missing: the data-protection
        policy refused a dataset
    +-- DataScanError                 data.scan.*              exit 16 HTTP 422
        data.scan.unreadable (missing, unreadable or malformed file),
        data.scan.unsupported_format: the dataset scanner cannot read the file
    +-- RequestRefused                gateway.refused          exit 17 HTTP per guard
        a gateway guard refused a request (``guard`` names it; the code says why:
        auth.missing_key 401, access.denied 403, rate.limited 429, input.* 422, ...)
    +-- GatewayConfigError            gateway.config_invalid   exit 18 HTTP 500

The CLI catches ``BastionError`` in exactly one place (``bastion.cli.main``) and the
gateway in one place too; both render ``code``, ``message`` and ``hint``.
"""

from __future__ import annotations

from typing import Any


class BastionError(Exception):
    """Root of every deliberate Bastion error."""

    code: str = "bastion.error"
    exit_code: int = 1
    http_status: int = 500
    hint: str = ""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if hint is not None:
            self.hint = hint
        # Structured, secret-free facts for machine output (CLI --json, problem+json).
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return self.message


class InvalidInput(BastionError):
    """The caller supplied something malformed; nothing was changed."""

    code = "input.invalid"
    exit_code = 2
    http_status = 400


class NotFound(BastionError):
    """The named thing does not exist (or the caller may not know that it does)."""

    code = "resource.not_found"
    exit_code = 3
    http_status = 404


class Conflict(BastionError):
    """The request clashes with existing state (duplicate name, wrong state)."""

    code = "resource.exists"
    exit_code = 4
    http_status = 409


class AuthenticationFailed(BastionError):
    """Credentials are missing, wrong, expired or revoked. Deliberately vague."""

    code = "auth.failed"
    exit_code = 5
    http_status = 401
    hint = "Log in with 'bastion login' or pass a valid API key."


class SessionExpired(AuthenticationFailed):
    """The session token has expired or was revoked."""

    code = "auth.session_expired"
    hint = "Log in again with 'bastion login'."


class MfaRequired(AuthenticationFailed):
    """The action needs a human session that passed multi-factor authentication."""

    code = "auth.mfa_required"
    hint = "Admin actions need an MFA session from 'bastion login', never an API key."


class PermissionDenied(BastionError):
    """The principal is authenticated but not allowed to do this."""

    code = "access.denied"
    exit_code = 6
    http_status = 403
    hint = "Ask an admin to grant the permission to your role ('bastion role list')."


class WorkspaceError(BastionError):
    """The workspace is missing, already exists or is damaged."""

    code = "workspace.error"
    exit_code = 7


class KeyringError(BastionError):
    """The sealed keyring cannot be opened or is malformed."""

    code = "keyring.error"
    exit_code = 8


class WrongMasterKey(KeyringError):
    """The master key or passphrase does not open this keyring."""

    code = "keyring.wrong_master_key"
    hint = "Set BASTION_MASTER_KEY (or BASTION_PASSPHRASE) to the secret given at 'bastion init'."


class StorageError(BastionError):
    """The database refused or failed an operation."""

    code = "db.error"
    exit_code = 9
    http_status = 503


class AuditError(BastionError):
    """The audit log could not be written or read."""

    code = "audit.error"
    exit_code = 10


class AuditChainBroken(AuditError):
    """Verification found a modified, missing, inserted or reordered event."""

    code = "audit.tampered"
    hint = "Treat this as a security incident: preserve the database and investigate."


class EncryptedObjectError(BastionError):
    """An encrypted object is damaged, truncated, foreign or in an unknown format.

    The code says which (``vault.tampered``, ``vault.truncated``, ``vault.wrong_key``,
    ``vault.unknown_algorithm``, ``vault.corrupt``); no plaintext is ever released.
    """

    code = "vault.tampered"
    exit_code = 11
    hint = "The stored object failed authentication; restore it from a backup and investigate."


class ModelRejected(BastionError):
    """The supply-chain policy refused a model: flagged by the scanner, or unsigned."""

    code = "model.rejected"
    exit_code = 12
    http_status = 422
    hint = "Run `bastion model scan` on the file to see the findings."


class SignatureInvalid(BastionError):
    """A signature or manifest does not verify; ``details`` names the files concerned."""

    code = "signature.invalid"
    exit_code = 13
    http_status = 422
    hint = "Treat the model as tampered with: do not load it, and find out who changed it."


class DependencyAuditError(BastionError):
    """The dependency audit could not vouch for the environment.

    ``deps.unreachable``: the vulnerability service could not be reached, timed out,
    failed, or answered for no package. ``deps.audit_failed``: pip-audit itself failed or
    wrote something that is not its JSON report.
    """

    code = "deps.audit_failed"
    exit_code = 14
    http_status = 503
    hint = (
        "Check network access to the vulnerability service (https://pypi.org for pypi, "
        "https://api.osv.dev for osv), or try the other one with --service."
    )


class DataRejected(BastionError):
    """The data-protection policy refused a dataset (restricted values in clear, say)."""

    code = "data.rejected"
    exit_code = 15
    http_status = 422
    hint = "Sanitize it first (`bastion data sanitize`), or see `bastion data scan` for why."


class DataScanError(BastionError):
    """The dataset scanner cannot read a file: missing, malformed, or not a data format.

    ``data.scan.unreadable``: the file cannot be opened or does not parse as its format
    (``details`` may name the line); ``data.scan.unsupported_format``: it is not CSV, TSV,
    Parquet, JSON Lines or text. Messages never quote the file's content.
    """

    code = "data.scan.unreadable"
    exit_code = 16
    http_status = 422
    hint = "Check that the file is complete CSV, TSV, Parquet, JSON Lines or text."


class RequestRefused(BastionError):
    """A gateway guard refused a request; ``guard`` names it and ``code`` says why.

    The HTTP status is the guard's choice (401, 403, 413, 422, 429, 503), so the caller
    gets the right retry semantics; the gateway renders it as problem+json.
    """

    code = "gateway.refused"
    exit_code = 17
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        guard: str,
        code: str,
        status: int,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint, details=details)
        self.guard = guard
        self.http_status = status
        # Extra response headers (Retry-After, WWW-Authenticate).
        self.headers: dict[str, str] = headers or {}


class GatewayConfigError(BastionError):
    """The gateway's configuration (``.bastion/gateway.toml``, TLS files) is unusable."""

    code = "gateway.config_invalid"
    exit_code = 18
    hint = "See docs/gateway.md for the configuration file's format."
