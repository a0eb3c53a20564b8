"""search_entries and the full-text index: find anything

One row per searchable text of a person's work (db/schema/search.py), written with the row it
indexes. SQLite: an FTS5 table `search_fts` over the text (external content) with the triggers
that keep it current. PostgreSQL: a generated `tsvector` column with a GIN index. Existing
steps, verses, verse prompts, scenes, characters and storyboard requests are indexed here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    "text, content='search_entries', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN "
    "INSERT INTO search_fts(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.rowid, old.text); END",
    "CREATE TRIGGER search_entries_au AFTER UPDATE OF text ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.rowid, old.text); "
    "INSERT INTO search_fts(rowid, text) VALUES (new.rowid, new.text); END",
]
POSTGRES_INDEX = [
    "ALTER TABLE search_entries ADD COLUMN document tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED",
    "CREATE INDEX ix_search_entries_document ON search_entries USING gin (document)",
]

BACKFILL = {
    "step": """
        SELECT s.owner_id, g.session_id, g.step, g.prompt, g.provider, g.model, g.job_id,
               g.id AS generation_id, NULL AS verse_id, NULL AS artifact_id, NULL AS entity_id,
               NULL AS request_id, g.created_at
        FROM image_generations g JOIN image_sessions s ON s.id = g.session_id""",
    "verse": """
        SELECT s.owner_id, v.song_id, v.sequence_number, v.text, NULL, NULL, NULL,
               NULL, v.id, NULL, NULL, NULL, v.created_at
        FROM song_verses v JOIN songs s ON s.id = v.song_id""",
    "verse_prompt": """
        SELECT s.owner_id, v.song_id, v.sequence_number, a.prompt, a.provider, a.model, a.job_id,
               NULL, NULL, a.id, NULL, NULL, a.created_at
        FROM song_generation_verse_artifacts a JOIN song_verses v ON v.id = a.verse_id
        JOIN songs s ON s.id = v.song_id""",
    "entity": """
        SELECT b.owner_id, e.storyboard_id, NULL, e.name || char(10) || e.description, NULL,
               NULL, NULL, NULL, NULL, NULL, e.id, NULL, e.created_at, e.kind
        FROM storyboard_entities e JOIN storyboards b ON b.id = e.storyboard_id""",
    "request": """
        SELECT owner_id, storyboard_id, NULL, prompt, provider, model, job_id,
               NULL, NULL, NULL, NULL, id, created_at
        FROM storyboard_generations""",
}
COLUMNS = (
    "owner_id container_id position text provider model job_id generation_id verse_id "
    "artifact_id entity_id request_id created_at"
).split()


def upgrade() -> None:
    op.create_table(
        "search_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("container_id", sa.String(length=36), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("generation_id", sa.String(length=36), nullable=True),
        sa.Column("verse_id", sa.String(length=36), nullable=True),
        sa.Column("artifact_id", sa.String(length=36), nullable=True),
        sa.Column("entity_id", sa.String(length=36), nullable=True),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('step', 'verse', 'verse_prompt', 'scene', 'character', 'request')",
            name=op.f("ck_search_entries_kind"),
        ),
        sa.ForeignKeyConstraint(["generation_id"], ["image_generations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["verse_id"], ["song_verses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["artifact_id"], ["song_generation_verse_artifacts.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["entity_id"], ["storyboard_entities.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["storyboard_generations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_search_entries_owner_created", "search_entries", ["owner_id", "created_at"])
    for column in ("generation_id", "verse_id", "artifact_id", "entity_id", "request_id"):
        op.create_index(f"ix_search_entries_{column}", "search_entries", [column])
    conn = op.get_bind()
    for statement in SQLITE_INDEX if conn.dialect.name == "sqlite" else POSTGRES_INDEX:
        conn.exec_driver_sql(statement)
    entries = sa.table("search_entries", *(sa.column(c) for c in ["id", "kind", *COLUMNS]))
    for kind, query in BACKFILL.items():
        if conn.dialect.name == "postgresql":
            query = query.replace("char(10)", "chr(10)")
        rows = conn.execute(sa.text(query)).all()
        values = []
        for row in rows:
            data = dict(zip(COLUMNS, row[: len(COLUMNS)], strict=True))
            data["kind"] = row[len(COLUMNS)] if kind == "entity" else kind
            data["id"] = str(uuid.uuid4())
            values.append(data)
        if values:
            conn.execute(entries.insert(), values)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name in ("search_entries_ai", "search_entries_ad", "search_entries_au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_entries")
