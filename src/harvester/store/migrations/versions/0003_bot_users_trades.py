"""The chat bot's per-user book: ``bot_users`` (capital) and ``bot_trades`` (lots).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("capital", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_users")),
        sa.UniqueConstraint("user_id", name=op.f("uq_bot_users_user_id")),
    )
    op.create_table(
        "bot_trades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("qty", sa.Float(), nullable=False),
        sa.Column("entry_price", sa.Float(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stop", sa.Float(), nullable=True),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("exit_price", sa.Float(), nullable=True),
        sa.Column("exited_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_trades")),
    )
    op.create_index(
        op.f("ix_bot_trades_user_id_symbol_exit_price"),
        "bot_trades",
        ["user_id", "symbol", "exit_price"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bot_trades_user_id_symbol_exit_price"), table_name="bot_trades")
    op.drop_table("bot_trades")
    op.drop_table("bot_users")
