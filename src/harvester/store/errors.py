"""Database failures as harvester errors, with the database's own words in one line."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, OperationalError

from harvester.core.errors import DataError, TransientError

__all__ = ["StoreConflictError", "StoreUnavailableError", "translate"]


class StoreConflictError(DataError):
    """The database refused a change: a duplicate key or a missing referenced row."""


class StoreUnavailableError(TransientError):
    """The database could not be reached or was locked; retrying may succeed."""


def _first_line(error: IntegrityError | OperationalError) -> str:
    text = str(error.orig).strip() or type(error.orig).__name__
    return text.splitlines()[0]


def translate(
    error: IntegrityError | OperationalError,
) -> StoreConflictError | StoreUnavailableError:
    """Return the harvester error that says what the database refused and what to do."""
    if isinstance(error, IntegrityError):
        return StoreConflictError(
            f"the database refused the change: {_first_line(error)} "
            "(a duplicate of an existing row, or a reference to a row that does not exist)"
        )
    return StoreUnavailableError(
        f"the database is unavailable: {_first_line(error)}; check the file or server and retry"
    )
