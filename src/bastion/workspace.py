"""Create and open a workspace: config, database, sealed keyring, blob folder, audit log.

Layout of ``<dir>/.bastion/`` (folder mode 0700)::

    config.toml    non-secret settings (database URL, session TTL, audit checkpoints)
    keyring.json   sealed keyring (0600)
    bastion.db     SQLite database in WAL mode (unless BASTION_DATABASE_URL is set)
    blobs/         encrypted objects
    audit-anchors.jsonl  a copy of every audit checkpoint this host signed (0600)
    tls/           the gateway's self-signed certificate and key (key 0600)
    gateway.toml   optional: guards, limits and output hardening per served model
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.store import AuditStore, Signer
from bastion.audit.writer import AuditWriter
from bastion.clock import Clock, SystemClock, to_micros
from bastion.config import CONFIG_FILENAME, Secret, Settings
from bastion.crypto.files import write_private_atomic
from bastion.crypto.keyring import Keyring, MasterSecret, generate_master_key
from bastion.crypto.providers import KeyProvider, make_provider
from bastion.crypto.tls import TLS_DIRNAME, make_self_signed
from bastion.db.engine import create_engine_for, schema_is_current, session_factory, upgrade_schema
from bastion.errors import WorkspaceError

KEYRING_FILENAME = "keyring.json"
BLOB_DIRNAME = "blobs"
ANCHOR_FILENAME = "audit-anchors.jsonl"

_CONFIG_TEMPLATE = """# Bastion workspace settings. Secrets never go here: the master key comes from
# BASTION_MASTER_KEY or BASTION_PASSPHRASE in the environment.

[database]
# url = "postgresql+psycopg://bastion@db.internal/bastion"   # or BASTION_DATABASE_URL

[session]
ttl_seconds = 3600

[audit]
checkpoint_every = 1024
batch_max = 2048

[vault]
key_provider = "local"          # or "pkcs11" (see [pkcs11]); BASTION_KEY_PROVIDER overrides
kek_algorithm = "aes-256-gcm"   # or "x25519-mlkem768" (hybrid post-quantum) for new versions
cipher = "aes-256-gcm"          # or "chacha20-poly1305"
chunk_size = 1048576

# [pkcs11]
# module = "/usr/lib/softhsm/libsofthsm2.so"   # BASTION_PKCS11_MODULE
# token_label = "bastion"                      # BASTION_PKCS11_TOKEN; PIN: BASTION_PKCS11_PIN
"""


@dataclass
class Workspace:
    """An opened workspace: everything a service needs, passed in explicitly."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: Keyring
    audit_store: AuditStore
    audit: AuditWriter
    clock: Clock
    _providers: dict[str, KeyProvider] = field(default_factory=dict, repr=False)

    @property
    def blob_dir(self) -> Path:
        """Where the vault's encrypted objects are stored."""
        return self.settings.bastion_dir / BLOB_DIRNAME

    @property
    def key_provider(self) -> KeyProvider:
        """The configured KeyProvider, opened on first use (an HSM session is not free)."""
        return self.provider(self.settings.key_provider)

    def provider(self, name: str) -> KeyProvider:
        """The KeyProvider called ``name``: the configured one, or an earlier one whose
        data keys a rotation has yet to move. Opened once, closed with the workspace."""
        if name not in self._providers:
            self._providers[name] = make_provider(
                self.settings.with_overrides(key_provider=name), self.keyring
            )
        return self._providers[name]

    def use_key_provider(self, provider: KeyProvider) -> None:
        """Replace the configured provider (tests wrap the real one to interrupt a rotation)."""
        self._providers[self.settings.key_provider] = provider

    def close(self) -> None:
        """Flush the audit writer, sign the chain head, release the database and provider."""
        try:
            self.audit.close(checkpoint_ts_us=to_micros(self.clock.now()))
        finally:
            self.engine.dispose()
            for provider in self._providers.values():
                provider.close()
            self._providers.clear()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _master_secret(settings: Settings) -> MasterSecret:
    if settings.master_key is not None:
        return MasterSecret(master_key=settings.master_key)
    return MasterSecret(passphrase=settings.passphrase)


def _assemble(settings: Settings, keyring: Keyring, engine: Engine, clock: Clock) -> Workspace:
    key_id, private_key = keyring.signing_key()
    store = AuditStore(
        engine,
        Signer(key_id, private_key),
        checkpoint_every=settings.audit_checkpoint_every,
        anchor_path=settings.bastion_dir / ANCHOR_FILENAME,
    )
    return Workspace(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        keyring=keyring,
        audit_store=store,
        audit=AuditWriter(store, batch_max=settings.audit_batch_max),
        clock=clock,
    )


def create_workspace(
    settings: Settings, *, clock: Clock | None = None
) -> tuple[Workspace, Secret | None]:
    """Make a new workspace and return it with the generated master key, if one was made.

    When neither a master key nor a passphrase is configured, a random master key is
    generated; the caller shows it once. On failure everything created is removed.
    """
    bastion_dir = settings.bastion_dir
    if (bastion_dir / KEYRING_FILENAME).exists():
        raise WorkspaceError(
            f"a workspace already exists at {settings.workspace}",
            code="workspace.exists",
            hint="Use it, or choose another --path.",
        )
    generated: Secret | None = None
    if settings.master_key is None and settings.passphrase is None:
        generated = Secret(generate_master_key())
        settings = settings.with_overrides(master_key=generated)
    secret = _master_secret(settings)

    created_dir = not bastion_dir.exists()
    engine: Engine | None = None
    try:
        bastion_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(bastion_dir, 0o700)
        (bastion_dir / BLOB_DIRNAME).mkdir(exist_ok=True, mode=0o700)
        write_private_atomic(bastion_dir / CONFIG_FILENAME, _CONFIG_TEMPLATE.encode())
        # The gateway serves HTTPS from the first start: its self-signed certificate.
        make_self_signed(bastion_dir / TLS_DIRNAME)
        keyring = Keyring.create(bastion_dir / KEYRING_FILENAME, secret)
        engine = create_engine_for(settings.effective_database_url())
        if "roles" in inspect(engine).get_table_names():
            raise WorkspaceError(
                "the database already holds a Bastion schema",
                code="workspace.database_in_use",
                hint="Point BASTION_DATABASE_URL at an empty database.",
            )
        upgrade_schema(engine)
        if settings.database_url is None:
            os.chmod(bastion_dir / "bastion.db", 0o600)
        ws = _assemble(settings, keyring, engine, clock or SystemClock())
    except BaseException:
        if engine is not None:
            engine.dispose()
        if created_dir:
            shutil.rmtree(bastion_dir, ignore_errors=True)
        else:
            (bastion_dir / KEYRING_FILENAME).unlink(missing_ok=True)
        raise
    return ws, generated


def open_workspace(settings: Settings, *, clock: Clock | None = None) -> Workspace:
    """Open an existing workspace. The keyring is opened first: a wrong key changes nothing."""
    bastion_dir = settings.bastion_dir
    if not (bastion_dir / KEYRING_FILENAME).exists():
        raise WorkspaceError(
            f"no Bastion workspace at {settings.workspace}",
            code="workspace.not_found",
            hint="Run 'bastion init', or pass --workspace / set BASTION_WORKSPACE.",
        )
    keyring = Keyring.open(bastion_dir / KEYRING_FILENAME, _master_secret(settings))
    engine = create_engine_for(settings.effective_database_url())
    try:
        if not schema_is_current(engine):
            upgrade_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return _assemble(settings, keyring, engine, clock or SystemClock())
