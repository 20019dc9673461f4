"""Alembic environment: migrations run on the engine Bastion hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from bastion.db.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("Bastion migrations run through bastion.db.upgrade_schema()")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
