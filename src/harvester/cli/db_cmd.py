"""``harvester db``: migrate the database and show its schema revision."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from harvester.cli.options import context_from

if TYPE_CHECKING:
    from harvester.app.context import AppContext
    from harvester.store.database import Store

app = typer.Typer(help="Create, migrate and inspect the database.", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Database URL; default HARVESTER_DATABASE_URL, else <HARVESTER_HOME>/harvester.db.",
    ),
]


def _open(ctx: AppContext, url: str | None, *, migrate: bool) -> Store:
    from harvester.store.database import ENCRYPTION_KEY_ENV, open_store

    return open_store(
        url,
        home=ctx.home,
        environ=ctx.environ,
        encryption_key=ctx.secrets.get(ENCRYPTION_KEY_ENV),
        migrate=migrate,
    )


@app.command("upgrade")
def upgrade(url: UrlOption = None) -> None:
    """Apply every pending migration (``open_store`` does this too on every start)."""
    from harvester.store.migrate import current_revision

    store = _open(context_from(), url, migrate=True)
    try:
        typer.echo(f"{store.url}: at revision {current_revision(store.engine)} (head)")
    finally:
        store.close()


@app.command("current")
def current(url: UrlOption = None) -> None:
    """Show the database's schema revision and whether migrations are pending."""
    from harvester.store.database import database_url
    from harvester.store.migrate import current_revision, head_revision

    ctx = context_from()
    where = database_url(url, home=ctx.home, environ=ctx.environ)
    if where.get_backend_name() == "sqlite" and not Path(where.database or "").is_file():
        typer.echo(f"no database at {where.database} yet; run: harvester db upgrade")
        return
    store = _open(ctx, url, migrate=False)
    try:
        revision, head = current_revision(store.engine), head_revision()
    finally:
        store.close()
    state = "up to date" if revision == head else f"behind head {head}; run: harvester db upgrade"
    typer.echo(f"{store.url}: revision {revision or 'none'} ({state})")
