"""Find anything: one search over a person's work — session prompts, song verses and their
prompts, storyboard scenes and characters (names and descriptions) and requests' prompts.

index.py writes an entry with each row it indexes (the domains call it in the transaction
that writes the row; deleting the row deletes its entry); query.py searches them through the
database's own full-text index (SQLite FTS5, PostgreSQL tsvector with a GIN index), only the
searcher's own, exact matches first, and lists a person's recent prompts.
"""

from __future__ import annotations

from studio.search.index import (
    index_entity,
    index_request,
    index_step,
    index_verse,
    index_verse_prompt,
)
from studio.search.query import SearchFilters, SearchHit, recent_prompts, search

__all__ = [
    "SearchFilters",
    "SearchHit",
    "index_entity",
    "index_request",
    "index_step",
    "index_verse",
    "index_verse_prompt",
    "recent_prompts",
    "search",
]
