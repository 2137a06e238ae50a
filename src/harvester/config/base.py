"""The base of every config section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Section"]


class Section(BaseModel):
    """Base of every config section: frozen, no unknown keys, no silent coercion of bools."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
