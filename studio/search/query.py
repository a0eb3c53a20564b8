"""Searching a person's work: the database's full-text index (SQLite FTS5, PostgreSQL tsvector
with a GIN index), only the searcher's own entries, exact matches first, then the newest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from db.schema import (
    ImageAsset,
    ImageGeneration,
    ImageSession,
    SearchEntry,
    Song,
    SongGenerationVerseArtifact,
    SongVerse,
    Storyboard,
    StoryboardEntity,
    StoryboardGeneration,
    table,
)
from studio.jobs import work

if TYPE_CHECKING:
    from studio.services import Services

MAX_TERMS = 12
STATUSES = ("succeeded", "queued", "running", "failed", "canceled")
_JOB_STATUS = {
    "queued": "pending",
    "running": "running",
    "failed": "failed",
    "canceled": "canceled",
}

entries = table(SearchEntry)
gens = table(ImageGeneration)
verses = table(SongVerse)
artifacts = table(SongGenerationVerseArtifact)
entities = table(StoryboardEntity)
requests = table(StoryboardGeneration)
assets = table(ImageAsset)
sessions_t, songs_t, boards_t = table(ImageSession), table(Song), table(Storyboard)


@dataclass(frozen=True)
class SearchFilters:
    """What a search is narrowed to (None: anything)."""

    kinds: tuple[str, ...] | None = None
    provider: str | None = None
    model: str | None = None
    status: str | None = None  # one of STATUSES
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SearchHit:
    """One found text, with where it is (to link to it), its state and its thumbnail."""

    id: str
    kind: str  # step | verse | verse_prompt | scene | character | request
    text: str
    exact: bool
    container_id: str | None
    container_title: str | None
    position: int | None  # the step or verse number
    item_id: str | None  # the step, verse, scene or character
    provider: str | None
    model: str | None
    status: str | None  # None: a scene or character (no work of its own)
    created_at: datetime
    thumbnail: Any | None  # an image_assets row


def terms(query: str) -> list[str]:
    """The words of a query, lower-cased (what both indexes match)."""
    return re.findall(r"\w+", query.lower())[:MAX_TERMS]


def _matches(dialect: str, words: list[str]) -> sa.ColumnElement[bool]:
    """Entries containing every word (the last one as a prefix: matches while typing)."""
    if dialect == "postgresql":
        tsquery = " & ".join(words) + ":*"
        return sa.literal_column("search_entries.document").op("@@")(
            sa.func.to_tsquery("simple", tsquery)
        )
    fts = " ".join(f'"{w}"' for w in words) + "*"
    rowids = sa.text("SELECT rowid FROM search_fts WHERE search_fts MATCH :fts").bindparams(fts=fts)
    return sa.literal_column("search_entries.rowid").in_(rowids)


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text.lower()) + "%"


def _produced() -> sa.ColumnElement[bool]:
    return sa.or_(
        gens.c.completed_at.isnot(None),
        verses.c.illustration_asset_id.isnot(None),
        entries.c.artifact_id.isnot(None),
        requests.c.asset_id.isnot(None),
    )


def _sources(select: sa.Select[Any]) -> sa.Select[Any]:
    """`select` with the rows the entries index (outer joins: one of them per entry)."""
    return (
        select.outerjoin(gens, gens.c.id == entries.c.generation_id)
        .outerjoin(verses, verses.c.id == entries.c.verse_id)
        .outerjoin(artifacts, artifacts.c.id == entries.c.artifact_id)
        .outerjoin(entities, entities.c.id == entries.c.entity_id)
        .outerjoin(requests, requests.c.id == entries.c.request_id)
    )


def _live(owner_id: str) -> sa.ColumnElement[bool]:
    """Entries of work that is not in Recently deleted: neither its session, song or
    storyboard nor its step (the trashed rows are few, each kind with a partial index)."""
    trashed = sa.union_all(
        sa.select(sessions_t.c.id).where(
            sessions_t.c.owner_id == owner_id, sessions_t.c.deleted_at.isnot(None)
        ),
        sa.select(songs_t.c.id).where(
            songs_t.c.owner_id == owner_id, songs_t.c.deleted_at.isnot(None)
        ),
        sa.select(boards_t.c.id).where(
            boards_t.c.owner_id == owner_id, boards_t.c.deleted_at.isnot(None)
        ),
    )
    trashed_steps = sa.select(gens.c.id).where(gens.c.deleted_at.isnot(None))
    return sa.and_(
        sa.or_(entries.c.container_id.is_(None), entries.c.container_id.not_in(trashed)),
        sa.or_(entries.c.generation_id.is_(None), entries.c.generation_id.not_in(trashed_steps)),
    )


def _status_filter(status: str) -> sa.ColumnElement[bool]:
    if status == "succeeded":
        return _produced()
    return sa.and_(
        entries.c.job_id.isnot(None),
        sa.not_(_produced()),
        work.jobs.c.status == _JOB_STATUS.get(status, status),
    )


def search(
    services: Services,
    owner_id: str,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 50,
) -> list[SearchHit]:
    """The owner's entries matching every word of `query` (exact matches first: the whole
    text, then the words as typed, in order; then the newest), with their thumbnails."""
    words = terms(query)
    if not words:
        return []
    f = filters or SearchFilters()
    phrase = " ".join(query.split()).lower()
    exact = sa.case(
        (sa.func.lower(entries.c.text) == phrase, 2),
        (sa.func.lower(entries.c.text).like(_like(phrase), escape="\\"), 1),
        else_=0,
    ).label("exact")
    first_output = (
        sa.select(assets.c.id)
        .where(assets.c.generation_id == entries.c.generation_id, assets.c.role == "output")
        .order_by(assets.c.created_at, assets.c.id)
        .limit(1)
        .correlate(entries)
        .scalar_subquery()
    )
    thumb = sa.case(
        (entries.c.generation_id.isnot(None), first_output),
        else_=sa.func.coalesce(
            verses.c.illustration_asset_id,
            artifacts.c.image_asset_id,
            entities.c.image_asset_id,
            requests.c.asset_id,
        ),
    ).label("thumb_id")
    title = sa.func.coalesce(sessions_t.c.title, songs_t.c.title, boards_t.c.title).label(
        "container_title"
    )
    # The best `limit` entries first (the index, the owner and the filters); only those are
    # joined to what they index (thumbnail, title, state).
    best = sa.select(entries.c.id, exact).where(
        entries.c.owner_id == owner_id,
        _matches(services.engine.dialect.name, words),
        _live(owner_id),
    )
    if f.kinds:
        best = best.where(entries.c.kind.in_(f.kinds))
    if f.provider:
        best = best.where(entries.c.provider == f.provider)
    if f.model:
        best = best.where(entries.c.model == f.model)
    if f.since is not None:
        best = best.where(entries.c.created_at >= f.since)
    if f.until is not None:
        best = best.where(entries.c.created_at < f.until)
    if f.status:
        best = _sources(best.outerjoin(work.jobs, work.jobs.c.id == entries.c.job_id)).where(
            _status_filter(f.status)
        )
    top = (
        best.order_by(sa.desc("exact"), entries.c.created_at.desc(), entries.c.id)
        .limit(max(1, min(200, limit)))
        .subquery("best")
    )
    stmt = (
        _sources(
            work.join_job(
                sa.select(entries, top.c.exact, thumb, title, _produced().label("produced")),
                entries.c.job_id,
            ).join(top, top.c.id == entries.c.id)
        )
        .outerjoin(
            sessions_t,
            sa.and_(entries.c.kind == "step", sessions_t.c.id == entries.c.container_id),
        )
        .outerjoin(
            songs_t,
            sa.and_(
                entries.c.kind.in_(("verse", "verse_prompt")),
                songs_t.c.id == entries.c.container_id,
            ),
        )
        .outerjoin(
            boards_t,
            sa.and_(
                entries.c.kind.in_(("scene", "character", "request")),
                boards_t.c.id == entries.c.container_id,
            ),
        )
        .order_by(top.c.exact.desc(), entries.c.created_at.desc(), entries.c.id)
    )
    with services.engine.connect() as conn:
        rows = conn.execute(stmt).all()
        wanted = [r.thumb_id for r in rows if r.thumb_id]
        thumbs = {
            a.id: a
            for a in (
                conn.execute(
                    sa.select(assets).where(assets.c.id.in_(wanted), assets.c.owner_id == owner_id)
                ).all()
                if wanted
                else []
            )
        }
    return [_hit(r, thumbs.get(r.thumb_id)) for r in rows]


def _hit(r: Any, thumbnail: Any | None) -> SearchHit:
    if r.kind in ("scene", "character"):
        status = None
    else:
        status = work.work_state(r if r.job_id else None, produced=bool(r.produced)).status
    item = r.generation_id or r.verse_id or r.entity_id or r.request_id
    return SearchHit(
        id=r.id,
        kind=r.kind,
        text=r.text,
        exact=bool(r.exact),
        container_id=r.container_id,
        container_title=r.container_title,
        position=r.position,
        item_id=item,
        provider=r.provider,
        model=r.model,
        status=status,
        created_at=r.created_at,
        thumbnail=thumbnail,
    )


def recent_prompts(
    services: Services, owner_id: str, contains: str = "", *, limit: int = 10
) -> list[str]:
    """The owner's last distinct step prompts, newest first; with `contains`, those matching
    it (through the full-text index)."""
    if contains.strip():
        hits = search(services, owner_id, contains, SearchFilters(kinds=("step",)), limit=200)
        texts = [h.text for h in sorted(hits, key=lambda h: h.created_at, reverse=True)]
    else:
        with services.engine.connect() as conn:
            texts = list(
                conn.execute(
                    sa.select(entries.c.text)
                    .where(
                        entries.c.owner_id == owner_id, entries.c.kind == "step", _live(owner_id)
                    )
                    .order_by(entries.c.created_at.desc())
                    .limit(200)
                ).scalars()
            )
    out: list[str] = []
    for text in texts:
        if text not in out:
            out.append(text)
        if len(out) == limit:
            break
    return out
