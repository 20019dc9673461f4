"""``bastion serve``: put the production models behind the inference gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bastion.cli.runtime import STATE


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)
    ] = 8443,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.", min=1, max=64)] = 1,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="Serve only this model (repeatable); default: every "
            "model with a production version.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Gateway configuration (default .bastion/gateway.toml)."),
    ] = None,
    insecure_http: Annotated[
        bool,
        typer.Option(
            "--insecure-http",
            help="Serve plain HTTP instead of HTTPS: for local tests only.",
        ),
    ] = False,
    auth_cache: Annotated[
        float,
        typer.Option(
            "--auth-cache",
            help="Seconds a verified API key is trusted before it is checked again "
            "(revocation takes effect within this time; 0 checks every request).",
            min=0.0,
            max=3600.0,
        ),
    ] = 5.0,
) -> None:
    """Serve production models over HTTPS (TLS 1.3) through the guard pipeline."""
    from bastion.gateway.server import ServeOptions
    from bastion.gateway.server import serve as run

    settings = STATE.settings()
    scheme = "http" if insecure_http else "https"
    typer.echo(f"bastion gateway on {scheme}://{host}:{port} ({workers} worker(s))", err=True)
    run(
        settings,
        ServeOptions(
            host=host,
            port=port,
            workers=workers,
            insecure_http=insecure_http,
            models=tuple(model or ()),
            config_path=config,
            auth_cache_s=auth_cache,
        ),
    )
