"""Run the gateway on uvicorn: HTTPS with TLS 1.3 only by default, N worker processes.

One worker runs in this process. Several run as uvicorn worker processes sharing one
listening socket; each opens the workspace itself and builds its app from the settings
(``app_from_settings``), which ``serve`` passes down through ``BASTION_GATEWAY_*``
environment variables. Share rate limits between them (and between hosts) with Redis.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.config import Settings, load_settings
from bastion.crypto.tls import make_self_signed, server_context
from bastion.errors import GatewayConfigError
from bastion.gateway.config import GatewayConfig, load_config

log = logging.getLogger("bastion.gateway")


@dataclass(frozen=True)
class ServeOptions:
    """What ``bastion serve`` was asked for."""

    host: str = "127.0.0.1"
    port: int = 8443
    workers: int = 1
    insecure_http: bool = False
    models: tuple[str, ...] = ()
    config_path: Path | None = None
    auth_cache_s: float = 5.0


def _tls_context(
    cert: str, key: str, client_ca: str | None, config: Any, default: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    # A module-level function (behind functools.partial) so that worker processes started
    # with "spawn" can rebuild it.
    return server_context(Path(cert), Path(key), client_ca=Path(client_ca) if client_ca else None)


def gateway_config(settings: Settings, path: Path | None) -> GatewayConfig:
    """The gateway configuration, with the workspace certificate made if it is missing."""
    config = load_config(settings.bastion_dir, path)
    default_dir = settings.bastion_dir / "tls"
    if config.tls.cert.parent == default_dir and not config.tls.cert.exists():
        # Workspaces made before the gateway existed: make their certificate now.
        make_self_signed(default_dir)
    return config


def uvicorn_config(app: Any, config: GatewayConfig, opts: ServeOptions) -> Any:
    """The uvicorn Config: our TLS context, no server banner, no access log (we audit)."""
    import uvicorn

    kwargs: dict[str, Any] = {
        "host": opts.host,
        "port": opts.port,
        "workers": opts.workers,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "server_header": False,
        "proxy_headers": False,
        "access_log": False,
        "log_level": "warning",
        "timeout_keep_alive": 5,
        "timeout_graceful_shutdown": 10,
        "limit_concurrency": 2048,
        "factory": isinstance(app, str),
    }
    if not opts.insecure_http:
        tls = config.tls
        # Checked here, in the parent, so a bad path fails before any worker starts.
        server_context(tls.cert, tls.key, client_ca=tls.client_ca)
        kwargs["ssl_context_factory"] = functools.partial(
            _tls_context, str(tls.cert), str(tls.key), str(tls.client_ca or "") or None
        )
    return uvicorn.Config(app, **kwargs)


def app_from_settings() -> Any:
    """App factory for worker processes: everything comes from the environment."""
    from bastion.gateway.app import build_gateway, create_app
    from bastion.workspace import open_workspace

    settings = load_settings()
    config = gateway_config(settings, settings.gateway_config)
    ws = open_workspace(settings)
    gw = build_gateway(
        ws,
        config,
        redis_url=settings.redis_url.reveal() if settings.redis_url else None,
        models=list(settings.gateway_models) or None,
        auth_cache_s=settings.gateway_auth_cache_s,
        tls=not settings.gateway_insecure_http,
        owns_workspace=True,
    )
    return create_app(gw)


def serve(settings: Settings, opts: ServeOptions) -> None:
    """Run until interrupted."""
    import uvicorn

    if opts.workers < 1 or opts.workers > 64:
        raise GatewayConfigError("--workers must be between 1 and 64", code="gateway.bad_workers")
    config = gateway_config(settings, opts.config_path)
    if opts.insecure_http:
        log.warning("serving plain HTTP: use this for local tests only")
    if opts.workers > 1 and settings.redis_url is None:
        log.warning(
            "%d workers without BASTION_REDIS_URL: each keeps its own rate-limit counters, "
            "so a client can get up to %d times the configured limit",
            opts.workers,
            opts.workers,
        )
    if opts.workers == 1:
        from bastion.gateway.app import build_gateway, create_app
        from bastion.workspace import open_workspace

        with open_workspace(settings) as ws:
            gw = build_gateway(
                ws,
                config,
                redis_url=settings.redis_url.reveal() if settings.redis_url else None,
                models=list(opts.models) or None,
                auth_cache_s=opts.auth_cache_s,
                tls=not opts.insecure_http,
            )
            uvicorn.Server(uvicorn_config(create_app(gw), config, opts)).run()
        return
    # Worker processes rebuild the same gateway from these (non-secret) settings; the
    # master key they need is already in this process's environment.
    os.environ["BASTION_WORKSPACE"] = str(settings.workspace)
    os.environ["BASTION_GATEWAY_MODELS"] = ",".join(opts.models)
    os.environ["BASTION_GATEWAY_INSECURE_HTTP"] = "1" if opts.insecure_http else "0"
    os.environ["BASTION_GATEWAY_AUTH_CACHE_S"] = str(opts.auth_cache_s)
    if opts.config_path is not None:
        os.environ["BASTION_GATEWAY_CONFIG"] = str(opts.config_path)
    ucfg = uvicorn_config("bastion.gateway.server:app_from_settings", config, opts)
    sock = ucfg.bind_socket()
    uvicorn.supervisors.Multiprocess(ucfg, sockets=[sock]).run()
