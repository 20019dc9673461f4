"""model registry: signed, scanned model versions and their stage history

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("framework", sa.String(length=32), nullable=True),
        sa.Column("scan_verdict", sa.String(length=16), nullable=False),
        sa.Column("scan_report", sa.JSON(), nullable=False),
        sa.Column("scanned_at", bastion.db.types.UTCDateTime(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("signature", sa.JSON(), nullable=False),
        sa.Column("signature_key_id", sa.String(length=64), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=False),
        sa.Column("registered_by", sa.String(length=128), nullable=False),
        sa.Column("registered_at", bastion.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["object_id"], ["vault_objects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("object_id"),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_index("ix_model_versions_name", "model_versions", ["name"])
    op.create_table(
        "model_stage_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=True),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("at", bastion.db.types.UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_stage_events_name", "model_stage_events", ["name"])


def downgrade() -> None:
    op.drop_index("ix_model_stage_events_name", table_name="model_stage_events")
    op.drop_table("model_stage_events")
    op.drop_index("ix_model_versions_name", table_name="model_versions")
    op.drop_table("model_versions")
