"""Reading: the songs table (verse counts, illustrated verses, job counts, what each song waits
on, a cover) and one song with every verse, its illustration, artifact and job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from db.schema import (
    ImageAsset,
    Job,
    Song,
    SongGenerationConversation,
    SongGenerationVerseArtifact,
    SongVerse,
    UsageLedger,
    table,
)
from db.types import utcnow
from studio.jobs import work
from studio.jobs.reads import key_heads
from studio.songs.illustration import JOB_KIND, artifact_rank, song_key
from studio.songs.ownership import owned_song

if TYPE_CHECKING:
    from studio.services import Services


@dataclass(frozen=True)
class QueueHead:
    """The first unfinished verse job of a song: what the later verses wait on."""

    job_id: str
    verse_number: int
    status: str  # pending | running | failed
    run_after: datetime | None
    error_class: str | None
    last_error: str | None
    cancel_requested: bool


@dataclass(frozen=True)
class SongProgress:
    verse_count: int
    illustrated: int
    queued: int
    running: int
    failed: int
    skipped: int
    head: QueueHead | None

    @property
    def active(self) -> bool:
        return self.queued + self.running > 0

    @property
    def blocked(self) -> bool:
        """A failed verse holds the rest of the song."""
        return self.head is not None and self.head.status == "failed"

    @property
    def waiting_on(self) -> str:
        """What the song waits on, as a phrase (empty when every verse is illustrated)."""
        head = self.head
        if head is None:
            missing = self.verse_count - self.illustrated
            if missing <= 0:
                return ""
            return f"nothing: {missing} verse(s) skipped, none queued"
        n = head.verse_number
        if head.status == "failed":
            later = self.verse_count - n
            rest = ""
            if later > 1:
                rest = f", verses {n + 1}–{self.verse_count} wait"
            elif later == 1:
                rest = f", verse {self.verse_count} waits"
            return f"verse {n} failed{rest}: requeue or skip it"
        if head.status == "running":
            if head.cancel_requested:
                return f"verse {n} is being canceled"
            return f"verse {n} is being illustrated"
        if head.run_after is not None and head.run_after > utcnow():
            if head.error_class == "rate_limit":
                return f"verse {n} is rate limited until {head.run_after:%H:%M:%S} UTC"
            return f"verse {n} is retried at {head.run_after:%H:%M:%S} UTC"
        return f"verse {n} waits for a free worker"


@dataclass(frozen=True)
class SongRow:
    """One row of the songs table."""

    id: str
    title: str
    tags: list[str]
    published: bool
    created_at: datetime
    updated_at: datetime
    progress: SongProgress
    cover: ImageAsset | None  # the first illustrated verse's image


@dataclass(frozen=True)
class VerseView:
    id: str
    number: int
    text: str
    illustration: ImageAsset | None
    thumbnail_key: str | None
    prompt: str | None
    provider: str | None
    model: str | None
    summary: str | None
    illustrated_at: datetime | None
    job_id: str | None
    state: work.WorkState  # of the verse's latest job (see studio/jobs/work.py)
    retry_count: int
    waiting_on: str = ""


@dataclass(frozen=True)
class Conversation:
    provider: str
    model: str
    conversation_id: str
    created_at: datetime


@dataclass(frozen=True)
class SongView:
    id: str
    title: str
    tags: list[str]
    published: bool
    created_at: datetime
    updated_at: datetime
    progress: SongProgress
    verses: list[VerseView] = field(default_factory=list)
    conversation: Conversation | None = None
    total_cost: float = 0.0  # what its illustrations cost (the usage ledger of its jobs)


def _head(row: Any | None) -> QueueHead | None:
    if row is None:
        return None
    return QueueHead(
        job_id=row.id,
        verse_number=int(row.sequence),
        status=row.status,
        run_after=row.run_after,
        error_class=row.error_class,
        last_error=row.last_error,
        cancel_requested=bool(row.cancel_requested),
    )


def _job_counts(conn: sa.Connection, keys: list[str]) -> dict[str, dict[str, int]]:
    jobs = table(Job)
    if not keys:
        return {}
    rows = conn.execute(
        sa.select(jobs.c.concurrency_key, jobs.c.status, sa.func.count())
        .where(jobs.c.kind == JOB_KIND, jobs.c.concurrency_key.in_(keys))
        .group_by(jobs.c.concurrency_key, jobs.c.status)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for key, status, n in rows:
        out.setdefault(key, {})[status] = int(n)
    return out


def _progress(
    verse_count: int, illustrated: int, counts: dict[str, int], head: Any | None
) -> SongProgress:
    return SongProgress(
        verse_count=verse_count,
        illustrated=illustrated,
        queued=counts.get("pending", 0),
        running=counts.get("running", 0),
        failed=counts.get("failed", 0),
        skipped=counts.get("canceled", 0),
        head=_head(head),
    )


def list_songs(services: Services, owner_id: str, *, limit: int = 200) -> list[SongRow]:
    """The owner's songs (drafts and published), most recently updated first, with verse
    counts, illustrated verses, job counts, what each waits on, and a cover (5 queries)."""
    limit = min(1000, max(1, limit))
    with services.db() as db:
        songs = list(
            db.scalars(
                sa.select(Song)
                .where(Song.owner_id == owner_id, Song.deleted_at.is_(None))
                .order_by(Song.updated_at.desc(), Song.id.desc())
                .limit(limit)
            ).all()
        )
        if not songs:
            return []
        ids = [s.id for s in songs]
        verse_counts = {
            song_id: (int(total), int(done))
            for song_id, total, done in db.execute(
                sa.select(
                    SongVerse.song_id,
                    sa.func.count(),
                    sa.func.count(SongVerse.illustration_asset_id),
                )
                .where(SongVerse.song_id.in_(ids))
                .group_by(SongVerse.song_id)
            ).all()
        }
        first = (
            sa.select(
                SongVerse.song_id,
                SongVerse.illustration_asset_id,
                sa.func.row_number()
                .over(partition_by=SongVerse.song_id, order_by=SongVerse.sequence_number)
                .label("rank"),
            )
            .where(SongVerse.song_id.in_(ids), SongVerse.illustration_asset_id.isnot(None))
            .subquery()
        )
        covers = {
            song_id: asset
            for song_id, asset in db.execute(
                sa.select(first.c.song_id, ImageAsset)
                .join(ImageAsset, ImageAsset.id == first.c.illustration_asset_id)
                .where(first.c.rank == 1, ImageAsset.owner_id == owner_id)
            ).all()
        }
        conn = db.connection()
        keys = [song_key(i) for i in ids]
        counts = _job_counts(conn, keys)
        heads = key_heads(conn, set(keys))
    rows = []
    for s in songs:
        total, done = verse_counts.get(s.id, (0, 0))
        key = song_key(s.id)
        rows.append(
            SongRow(
                id=s.id,
                title=s.title,
                tags=list(s.tags or []),
                published=s.published,
                created_at=s.created_at,
                updated_at=s.updated_at,
                progress=_progress(total, done, counts.get(key, {}), heads.get(key)),
                cover=covers.get(s.id),
            )
        )
    return rows


def _verse_state(verse: Any, artifact: Any | None, job: Any | None) -> work.WorkState:
    """A verse's state: its latest job's, or illustrated when that job left its artifact (a
    verse without a job is illustrated when it has an illustration)."""
    if job is None:
        return work.work_state(None, produced=verse.illustration_asset_id is not None)
    produced = artifact is not None and artifact.job_id == job.id
    return work.work_state(job, produced=produced)


def _verse_waiting(job: Any | None, head: QueueHead | None) -> str:
    if job is None or job.job_status != "pending" or head is None:
        return ""
    if head.job_id == job.id:
        return ""
    if head.status == "failed":
        return f"waits for verse {head.verse_number} (failed)"
    return f"after verse {head.verse_number}"


def get_song(services: Services, owner_id: str, song_id: str) -> SongView:
    """The song with every verse: its illustration and thumbnail, the prompt, provider, model
    and summary of its latest artifact, and its job's state (a fixed number of queries)."""
    jobs = table(Job)
    key = song_key(song_id)
    with services.db() as db:
        song = owned_song(db, owner_id, song_id)
        verse_rows = db.execute(
            sa.select(SongVerse, ImageAsset)
            .outerjoin(
                ImageAsset,
                sa.and_(
                    ImageAsset.id == SongVerse.illustration_asset_id,
                    ImageAsset.owner_id == owner_id,
                ),
            )
            .where(SongVerse.song_id == song_id)
            .order_by(SongVerse.sequence_number)
        ).all()
        ranked = (
            sa.select(
                SongGenerationVerseArtifact,
                artifact_rank(),
            )
            .join(SongVerse, SongVerse.id == SongGenerationVerseArtifact.verse_id)
            .where(SongVerse.song_id == song_id)
            .subquery()
        )
        artifact_rows = db.execute(sa.select(ranked).where(ranked.c.rank == 1)).all()
        artifacts = {a.verse_id: a for a in artifact_rows}
        conversation = db.get(SongGenerationConversation, song_id)
        job_rows = db.execute(
            sa.select(jobs.c.id, jobs.c.payload, jobs.c.retry_count, *work.JOB_COLUMNS)
            .where(jobs.c.concurrency_key == key, jobs.c.kind == JOB_KIND)
            .order_by(jobs.c.created_at, jobs.c.id)
        ).all()
        total_cost = db.scalar(
            sa.select(
                sa.func.sum(sa.func.coalesce(UsageLedger.cost_actual, UsageLedger.cost_estimate))
            )
            .join(jobs, jobs.c.id == UsageLedger.job_id)
            .where(jobs.c.concurrency_key == key, jobs.c.kind == JOB_KIND)
        )
        conn = db.connection()
        counts = _job_counts(conn, [key]).get(key, {})
        head_row = key_heads(conn, {key}).get(key)
    by_verse = {(j.payload or {}).get("verse_id"): j for j in job_rows}  # the latest wins
    illustrated = sum(1 for v, asset in verse_rows if v.illustration_asset_id is not None)
    progress = _progress(len(verse_rows), illustrated, counts, head_row)
    verses = []
    for verse, asset in verse_rows:
        art = artifacts.get(verse.id)
        job = by_verse.get(verse.id)
        verses.append(
            VerseView(
                id=verse.id,
                number=verse.sequence_number,
                text=verse.text,
                illustration=asset,
                thumbnail_key=(art.thumbnail_key if art else None)
                or (asset.thumbnail_key if asset else None),
                prompt=art.prompt if art else None,
                provider=art.provider if art else None,
                model=art.model if art else None,
                summary=art.image_summary if art else None,
                illustrated_at=art.created_at if art else None,
                job_id=job.id if job else None,
                state=_verse_state(verse, art, job),
                retry_count=int(job.retry_count) if job else 0,
                waiting_on=_verse_waiting(job, progress.head),
            )
        )
    return SongView(
        id=song.id,
        title=song.title,
        tags=list(song.tags or []),
        published=song.published,
        created_at=song.created_at,
        updated_at=song.updated_at,
        progress=progress,
        verses=verses,
        total_cost=float(total_cost or 0.0),
        conversation=Conversation(
            conversation.provider,
            conversation.model,
            conversation.conversation_id,
            conversation.created_at,
        )
        if conversation
        else None,
    )
