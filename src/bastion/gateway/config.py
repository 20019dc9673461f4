"""The gateway's configuration: ``.bastion/gateway.toml``, checked in full at start.

::

    [server]
    max_body_bytes = 1048576     # larger requests get 413 before they are read
    request_timeout_s = 10.0     # a prediction that takes longer gets 503
    max_batch = 256              # rows per predict call
    audit_wait = false           # true: answer only once the request's audit event is durable
    audit_flush_ms = 10.0        # events are committed in batches this often
    reload_s = 5.0               # how often production versions are re-read (0: never)

    [tls]                        # default: the workspace's self-signed tls/server.{crt,key}
    # cert = "/etc/bastion/gw.crt"
    # key = "/etc/bastion/gw.key"
    # client_ca = "/etc/bastion/clients-ca.pem"   # require client certificates (mTLS)

    [defaults]                   # every served model, unless [models.NAME] says otherwise
    guards = ["auth", "rbac", "rate_limit", "validation", "ood", "harden"]

    [defaults.rate_limit]
    per_key = ["50/second", "1000/minute"]    # `limits` notation; all must allow
    per_address = ["100/second"]

    [defaults.validation]
    mode = "reject"              # or "flag": answer, but mark the response and the audit
    tolerance = 0.0              # widen each numeric range by this share of its span

    [defaults.ood]
    mode = "flag"                # or "reject"

    [defaults.harden]
    decimals = 3                 # round probabilities
    top_k = 0                    # 0: every class
    label_only = false
    noise = 0.0                  # std of Gaussian noise added to probabilities

    [models.churn.harden]        # per-model overrides, merged over [defaults]
    label_only = true

Unknown sections or keys are errors, never silently ignored: a typo in a security
setting must not turn a guard off.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bastion.errors import GatewayConfigError

CONFIG_FILENAME = "gateway.toml"
REQUIRED_GUARDS = ("auth", "rbac")
DEFAULT_GUARDS = ("auth", "rbac", "rate_limit", "validation", "ood", "harden")

_GUARD_DEFAULTS: dict[str, dict[str, Any]] = {
    "rate_limit": {"per_key": ["50/second", "1000/minute"], "per_address": ["100/second"]},
    "validation": {"mode": "reject", "tolerance": 0.0},
    "ood": {"mode": "flag"},
    "harden": {"decimals": 3, "top_k": 0, "label_only": False, "noise": 0.0},
    "ensemble": {"members": [], "threshold": 0.2},
}
_SERVER_DEFAULTS: dict[str, Any] = {
    "max_body_bytes": 1 << 20,
    "request_timeout_s": 10.0,
    "max_batch": 256,
    "audit_wait": False,
    "audit_flush_ms": 10.0,
    "reload_s": 5.0,
}


@dataclass(frozen=True)
class ModelPolicy:
    """The guards one model is served with, in order, and each guard's options."""

    guards: tuple[str, ...]
    options: dict[str, dict[str, Any]]

    def of(self, guard: str) -> dict[str, Any]:
        """One guard's options (defaults merged with the overrides)."""
        return self.options.get(guard, {})


@dataclass(frozen=True)
class TlsConfig:
    """Where the certificate, key and optional client CA come from."""

    cert: Path
    key: Path
    client_ca: Path | None = None


@dataclass(frozen=True)
class GatewayConfig:
    """The whole gateway configuration, validated."""

    tls: TlsConfig
    max_body_bytes: int = 1 << 20
    request_timeout_s: float = 10.0
    max_batch: int = 256
    audit_wait: bool = False
    audit_flush_ms: float = 10.0
    reload_s: float = 5.0
    defaults: ModelPolicy = field(
        default_factory=lambda: ModelPolicy(DEFAULT_GUARDS, _merge({}, {}))
    )
    models: dict[str, ModelPolicy] = field(default_factory=dict)

    def policy(self, model: str) -> ModelPolicy:
        """The policy a model is served with."""
        return self.models.get(model, self.defaults)


def _fail(message: str) -> GatewayConfigError:
    return GatewayConfigError(message, code="gateway.config_invalid")


def _check_keys(where: str, given: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise _fail(f"{where}: unknown setting(s) {', '.join(unknown)}")


def _merge(base: dict[str, dict[str, Any]], over: dict[str, Any]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for guard, defaults in _GUARD_DEFAULTS.items():
        values = {**defaults, **base.get(guard, {})}
        section = over.get(guard, {})
        if not isinstance(section, dict):
            raise _fail(f"[{guard}] must be a table")
        _check_keys(f"[{guard}]", section, set(defaults))
        values.update(section)
        merged[guard] = values
    return merged


def _guards(where: str, raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(g, str) for g in raw):
        raise _fail(f"{where}.guards must be a list of guard names")
    if len(set(raw)) != len(raw):
        raise _fail(f"{where}.guards names a guard twice")
    missing = [g for g in REQUIRED_GUARDS if g not in raw]
    if missing:
        # Deny by default: a model without authentication would be open to anyone.
        raise _fail(f"{where}.guards must include {', '.join(missing)}")
    if raw.index("auth") != 0:
        raise _fail(f"{where}.guards must start with auth")
    return tuple(raw)


def _policy(where: str, section: dict[str, Any], base: ModelPolicy | None) -> ModelPolicy:
    _check_keys(where, section, {"guards", *_GUARD_DEFAULTS})
    guards = _guards(where, section["guards"]) if "guards" in section else None
    if base is None:
        return ModelPolicy(guards or DEFAULT_GUARDS, _merge({}, section))
    return ModelPolicy(guards or base.guards, _merge(base.options, section))


def _number(where: str, raw: object, kind: type) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
        raise _fail(f"{where} must be a non-negative number")
    return kind(raw)


def parse_config(doc: dict[str, Any], *, bastion_dir: Path) -> GatewayConfig:
    """Validate a parsed gateway.toml (``{}`` gives the defaults)."""
    _check_keys("gateway.toml", doc, {"server", "tls", "defaults", "models"})
    server = {**_SERVER_DEFAULTS, **doc.get("server", {})}
    _check_keys("[server]", server, set(_SERVER_DEFAULTS))
    tls_doc = doc.get("tls", {})
    _check_keys("[tls]", tls_doc, {"cert", "key", "client_ca"})
    if ("cert" in tls_doc) != ("key" in tls_doc):
        raise _fail("[tls] needs both cert and key, or neither")
    tls_dir = bastion_dir / "tls"
    tls = TlsConfig(
        cert=Path(tls_doc.get("cert", tls_dir / "server.crt")),
        key=Path(tls_doc.get("key", tls_dir / "server.key")),
        client_ca=Path(tls_doc["client_ca"]) if "client_ca" in tls_doc else None,
    )
    defaults = _policy("[defaults]", doc.get("defaults", {}), None)
    models_doc = doc.get("models", {})
    if not isinstance(models_doc, dict):
        raise _fail("[models] must be a table of model names")
    models = {
        name: _policy(f"[models.{name}]", section, defaults) for name, section in models_doc.items()
    }
    max_body = _number("[server].max_body_bytes", server["max_body_bytes"], int)
    max_batch = _number("[server].max_batch", server["max_batch"], int)
    if max_body < 64 or max_batch < 1:
        raise _fail("[server] max_body_bytes must be at least 64 and max_batch at least 1")
    if not isinstance(server["audit_wait"], bool):
        raise _fail("[server].audit_wait must be true or false")
    return GatewayConfig(
        tls=tls,
        max_body_bytes=max_body,
        request_timeout_s=_number("[server].request_timeout_s", server["request_timeout_s"], float)
        or 10.0,
        max_batch=max_batch,
        audit_wait=server["audit_wait"],
        audit_flush_ms=min(
            _number("[server].audit_flush_ms", server["audit_flush_ms"], float), 1000.0
        ),
        reload_s=_number("[server].reload_s", server["reload_s"], float),
        defaults=defaults,
        models=models,
    )


def load_config(bastion_dir: Path, path: Path | None = None) -> GatewayConfig:
    """Read ``gateway.toml`` (or ``path``); a missing default file means the defaults."""
    path = path or bastion_dir / CONFIG_FILENAME
    if not path.exists():
        if path != bastion_dir / CONFIG_FILENAME:
            raise _fail(f"no gateway configuration at {path}")
        return parse_config({}, bastion_dir=bastion_dir)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise _fail(f"{path} is not readable TOML: {exc}") from exc
    return parse_config(doc, bastion_dir=bastion_dir)
