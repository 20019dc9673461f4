"""One frozen Settings object, built at the edge and passed down.

Precedence: ``BASTION_*`` environment variables, then ``.bastion/config.toml``, then
defaults. Nothing else in Bastion reads ``os.environ``. Secrets (master key, passphrase,
API key, session token) come only from the environment or explicit arguments, never from
the config file, and are wrapped in :class:`Secret` so that they never print.
"""

from __future__ import annotations

import hmac
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bastion.errors import InvalidInput, WorkspaceError

WORKSPACE_DIRNAME = ".bastion"
CONFIG_FILENAME = "config.toml"


class Secret:
    """A string that refuses to show itself in reprs, logs and tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value; call only where it is used."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(
            other._value.encode("utf-8", "surrogatepass"),
            self._value.encode("utf-8", "surrogatepass"),
        )

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once."""

    workspace: Path
    database_url: str | None = None
    master_key: Secret | None = None
    passphrase: Secret | None = None
    api_key: Secret | None = None
    session_token: Secret | None = None
    session_ttl_seconds: int = 3600
    audit_checkpoint_every: int = 1024
    audit_batch_max: int = 2048
    state_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "state" / "bastion")
    # vault: where KEKs live, which algorithm new KEK versions use, how objects are sealed
    key_provider: str = "local"
    kek_algorithm: str = "aes-256-gcm"
    vault_cipher: str = "aes-256-gcm"
    vault_chunk_size: int = 1 << 20
    pkcs11_module: str | None = None
    pkcs11_token: str | None = None
    pkcs11_pin: Secret | None = None
    # gateway: Redis shares rate limits between replicas; the rest is set by `bastion serve`
    # for its worker processes (which build their app from these settings).
    redis_url: Secret | None = None
    gateway_config: Path | None = None
    gateway_models: tuple[str, ...] = ()
    gateway_insecure_http: bool = False
    gateway_auth_cache_s: float = 5.0

    @property
    def bastion_dir(self) -> Path:
        """The ``.bastion`` folder inside the workspace."""
        return self.workspace / WORKSPACE_DIRNAME

    def effective_database_url(self) -> str:
        """The configured database URL, or the workspace's embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.bastion_dir / 'bastion.db'}"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced (used by the CLI for explicit flags)."""
        return replace(self, **changes)


def _secret(value: str | None) -> Secret | None:
    return Secret(value) if value else None


def _int(name: str, raw: object) -> int:
    try:
        value = int(str(raw))
    except ValueError as exc:
        raise InvalidInput(f"{name} must be an integer, got {raw!r}") from exc
    if value <= 0:
        raise InvalidInput(f"{name} must be positive, got {value}")
    return value


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not 0 <= value <= 3600:
        raise InvalidInput(f"{name} must be between 0 and 3600 seconds, got {value}")
    return value


def find_workspace(start: Path) -> Path:
    """Return the folder holding ``.bastion/``: ``start`` itself or its nearest parent."""
    start = start.resolve()
    if start.name == WORKSPACE_DIRNAME and start.is_dir():
        return start.parent
    for candidate in (start, *start.parents):
        if (candidate / WORKSPACE_DIRNAME).is_dir():
            return candidate
    return start


def read_config_file(bastion_dir: Path) -> dict[str, Any]:
    """Parse ``config.toml`` if present; a malformed file is an error, not a default."""
    path = bastion_dir / CONFIG_FILENAME
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WorkspaceError(
            f"{path} is not valid TOML: {exc}", code="workspace.bad_config"
        ) from exc


def load_settings(
    *,
    workspace: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build Settings from explicit arguments, the environment and the config file."""
    env = os.environ if environ is None else environ
    if workspace is None:
        raw = env.get("BASTION_WORKSPACE")
        workspace = Path(raw) if raw else find_workspace(cwd or Path.cwd())
    elif workspace.name == WORKSPACE_DIRNAME:
        workspace = workspace.parent
    workspace = workspace.resolve()
    file_cfg = read_config_file(workspace / WORKSPACE_DIRNAME)
    db_cfg = file_cfg.get("database", {})
    session_cfg = file_cfg.get("session", {})
    audit_cfg = file_cfg.get("audit", {})
    vault_cfg = file_cfg.get("vault", {})
    pkcs11_cfg = file_cfg.get("pkcs11", {})

    state_dir_raw = env.get("BASTION_STATE_DIR") or env.get("XDG_STATE_HOME")
    if env.get("BASTION_STATE_DIR"):
        state_dir = Path(env["BASTION_STATE_DIR"])
    elif state_dir_raw:
        state_dir = Path(state_dir_raw) / "bastion"
    else:
        home = env.get("HOME")
        state_dir = (Path(home) if home else Path.home()) / ".local" / "state" / "bastion"

    return Settings(
        workspace=workspace,
        database_url=env.get("BASTION_DATABASE_URL") or db_cfg.get("url") or None,
        master_key=_secret(env.get("BASTION_MASTER_KEY")),
        passphrase=_secret(env.get("BASTION_PASSPHRASE")),
        api_key=_secret(env.get("BASTION_API_KEY")),
        session_token=_secret(env.get("BASTION_SESSION")),
        session_ttl_seconds=_int(
            "session ttl",
            env.get("BASTION_SESSION_TTL") or session_cfg.get("ttl_seconds", 3600),
        ),
        audit_checkpoint_every=_int(
            "audit checkpoint_every",
            env.get("BASTION_AUDIT_CHECKPOINT_EVERY") or audit_cfg.get("checkpoint_every", 1024),
        ),
        audit_batch_max=_int("audit batch_max", audit_cfg.get("batch_max", 2048)),
        state_dir=state_dir,
        key_provider=str(env.get("BASTION_KEY_PROVIDER") or vault_cfg.get("key_provider", "local")),
        kek_algorithm=str(vault_cfg.get("kek_algorithm", "aes-256-gcm")),
        vault_cipher=str(vault_cfg.get("cipher", "aes-256-gcm")),
        vault_chunk_size=_int("vault chunk_size", vault_cfg.get("chunk_size", 1 << 20)),
        pkcs11_module=env.get("BASTION_PKCS11_MODULE") or pkcs11_cfg.get("module") or None,
        pkcs11_token=env.get("BASTION_PKCS11_TOKEN") or pkcs11_cfg.get("token_label") or None,
        pkcs11_pin=_secret(env.get("BASTION_PKCS11_PIN")),
        # A Redis URL may carry a password: kept as a Secret.
        redis_url=_secret(env.get("BASTION_REDIS_URL") or file_cfg.get("redis", {}).get("url")),
        gateway_config=Path(env["BASTION_GATEWAY_CONFIG"])
        if env.get("BASTION_GATEWAY_CONFIG")
        else None,
        gateway_models=tuple(m for m in env.get("BASTION_GATEWAY_MODELS", "").split(",") if m),
        gateway_insecure_http=env.get("BASTION_GATEWAY_INSECURE_HTTP") == "1",
        gateway_auth_cache_s=_seconds(
            "gateway auth cache", env.get("BASTION_GATEWAY_AUTH_CACHE_S", "5")
        ),
    )
