"""Relational storage: SQLAlchemy 2 models, engine set-up, Alembic migrations.

No SQLAlchemy exception leaves this package: :func:`transaction` translates them.
"""

from bastion.db.engine import create_engine_for, transaction, upgrade_schema
from bastion.db.models import (
    ApiKeyRow,
    AuditCheckpointRow,
    AuditEventRow,
    AuditHeadRow,
    Base,
    PrincipalRow,
    RoleRow,
    SessionRow,
)

__all__ = [
    "ApiKeyRow",
    "AuditCheckpointRow",
    "AuditEventRow",
    "AuditHeadRow",
    "Base",
    "PrincipalRow",
    "RoleRow",
    "SessionRow",
    "create_engine_for",
    "transaction",
    "upgrade_schema",
]
