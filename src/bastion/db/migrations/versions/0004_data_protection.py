"""data protection: reversible tokens and dataset scans

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_tokens",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("lookup", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", bastion.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("token"),
        sa.UniqueConstraint("lookup"),
    )
    op.create_table(
        "dataset_scans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=False),
        sa.Column("scanned_at", bastion.db.types.UTCDateTime(), nullable=False),
        sa.Column("scanned_by", sa.String(length=128), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("suggested", sa.String(length=16), nullable=False),
        sa.Column("classification", sa.String(length=16), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["object_id"], ["vault_objects.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_dataset_scans_object_id", "dataset_scans", ["object_id"])


def downgrade() -> None:
    op.drop_index("ix_dataset_scans_object_id", table_name="dataset_scans")
    op.drop_table("dataset_scans")
    op.drop_table("data_tokens")
