"""vault: KEK versions, wrapped data keys, encrypted objects

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bastion.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kek_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", bastion.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("retired_at", bastion.db.types.UTCDateTime(), nullable=True),
        sa.Column("destroyed_at", bastion.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "version"),
    )
    op.create_table(
        "data_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("kek_version", sa.Integer(), nullable=False),
        sa.Column("wrap_algorithm", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", bastion.db.types.UTCDateTime(), nullable=False),
        sa.Column("shredded_at", bastion.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_data_keys_kek_version", "data_keys", ["kek_version"])
    op.create_table(
        "vault_objects",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("classification", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("created_at", bastion.db.types.UTCDateTime(), nullable=False),
        sa.Column("cipher", sa.String(length=32), nullable=False),
        sa.Column("data_key_id", sa.String(length=32), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("lineage", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("shredded_at", bastion.db.types.UTCDateTime(), nullable=True),
        sa.Column("shredded_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(["data_key_id"], ["data_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "name", "version"),
    )
    op.create_index("ix_vault_objects_data_key_id", "vault_objects", ["data_key_id"])


def downgrade() -> None:
    op.drop_index("ix_vault_objects_data_key_id", table_name="vault_objects")
    op.drop_table("vault_objects")
    op.drop_index("ix_data_keys_kek_version", table_name="data_keys")
    op.drop_table("data_keys")
    op.drop_table("kek_versions")
