"""The secure inference gateway: guarded, audited, measured serving of registered models.

``build_gateway`` wires the services, ``create_app`` makes the ASGI app, and
``bastion.gateway.server`` runs it on uvicorn with TLS 1.3.
"""

from bastion.gateway.app import Gateway, build_gateway, create_app
from bastion.gateway.config import GatewayConfig, load_config

__all__ = ["Gateway", "GatewayConfig", "build_gateway", "create_app", "load_config"]
