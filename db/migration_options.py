"""Autogenerate options shared by the Alembic environment and the drift check."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from db.schema import metadata
from db.types import JSONType, UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our portable column types as plain SQLAlchemy types in migration files."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if (
        type_ == "type"
        and obj is JSONType
        or (type_ == "type" and isinstance(obj, sa.JSON) and getattr(obj, "_variant_mapping", None))
    ):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


def compare_type(
    ctx: Any, inspected: Any, metadata_col: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, sa.DateTime)
    return None


# The full-text index is the database's own (see db/schema/search.py), not a model's.
SEARCH_INDEX_OBJECTS = {"search_fts", "document", "ix_search_entries_document"}


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if name is None:
        return True
    if type_ == "table" and name.startswith("search_fts"):
        return False  # the FTS5 table and its shadow tables
    return name not in SEARCH_INDEX_OBJECTS


def context_options(connection: sa.Connection) -> dict[str, Any]:
    return {
        "include_object": include_object,
        "target_metadata": metadata,
        "render_as_batch": connection.dialect.name == "sqlite",
        "render_item": render_item,
        "compare_type": compare_type,
    }
