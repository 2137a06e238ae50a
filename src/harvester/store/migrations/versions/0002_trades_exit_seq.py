"""Number a position's exits of one day in the journal: ``trades.exit_seq`` joins the key.

A scale-out and the final exit of one position on the same day used to share the key
(account, strategy, symbol, entry date, exit date), so the second was never journalled.
Existing rows get ``exit_seq`` 0.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OLD_KEY = "uq_trades_account_strategy_symbol_entry_date_exit_date"
_NEW_KEY = "uq_trades_account_strategy_symbol_entry_date_exit_date_exit_seq"
_COLUMNS = ["account", "strategy", "symbol", "entry_date", "exit_date"]


def upgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("exit_seq", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint(_OLD_KEY, type_="unique")
        batch.create_unique_constraint(_NEW_KEY, [*_COLUMNS, "exit_seq"])


def downgrade() -> None:
    op.execute("DELETE FROM trades WHERE exit_seq > 0")
    with op.batch_alter_table("trades") as batch:
        batch.drop_constraint(_NEW_KEY, type_="unique")
        batch.create_unique_constraint(_OLD_KEY, _COLUMNS)
        batch.drop_column("exit_seq")
