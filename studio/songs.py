"""Songs (DESIGN §2, §7 "Songs"): drafts split into verses, one illustration job per verse.

A draft is a song (unpublished), its verses, and one pending `verse_illustration` job per verse,
all written in one transaction. The jobs share the song's concurrency key, are `ordered` and
carry the verse number as their sequence, so the queue runs the verses of one song strictly in
order, one at a time, and a failed verse holds the rest until it is requeued or skipped. The job
itself lives in studio/verse_job.py, the prompts in studio/song_prompts.py.

Every function takes the acting `owner_id` and checks ownership in the query itself: another
owner's song is reported exactly like a missing one. Validation happens before anything is
written; a rejected draft stores nothing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import (
    ImageAsset,
    Job,
    Song,
    SongGenerationConversation,
    SongGenerationVerseArtifact,
    SongVerse,
)
from db.types import utcnow
from studio.errors import Conflict, Invalid, NotFound
from studio.job_views import key_heads
from studio.providers.base import ImageRequest
from studio.services import Services

JOB_KIND = "verse_illustration"
SONG_NOT_FOUND = "That song does not exist or is not yours."
VERSE_NOT_FOUND = "That verse does not exist or is not yours."

MAX_TITLE_CHARS = 200
MAX_VERSES = 200
MAX_VERSE_CHARS = 2_000
# Checked before splitting, so a huge paste is refused without scanning it line by line.
MAX_TEXT_CHARS = 2_000_000
MAX_TAGS = 20
MAX_TAG_CHARS = 40
LABEL_TITLE_CHARS = 60

# Illustrations are 16:9; the offline renderer draws them at this size.
ILLUSTRATION_WIDTH, ILLUSTRATION_HEIGHT, ILLUSTRATION_ASPECT = 1024, 576, "16:9"
OFFLINE_PROVIDER, OFFLINE_MODEL = "local", "sketch"

_BLANK_RUN = re.compile(r"\n(?:[^\S\n]*\n)+")  # a line break, then one or more blank lines
_SPACES = re.compile(r"\s+")
_ALLOWED_IN_TEXT = {"\n", "\r", "\t"}


# ---------------------------------------------------------------------------------------------
# Text: verses, tags, validation
# ---------------------------------------------------------------------------------------------


def _control_chars(text: str, allowed: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Control characters (C0, DEL, C1) in `text`, except the `allowed` ones."""
    return [c for c in text if unicodedata.category(c) == "Cc" and c not in allowed]


def _describe_char(c: str) -> str:
    return f"U+{ord(c):04X}"


def _check_encodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"The {what} contains characters that are not valid text.") from None


def split_verses(text: str) -> list[str]:
    """Verses of a song text: separated by any run of blank or whitespace-only lines, with
    Windows, old-Mac or Unix line endings; each verse trimmed (lines keep their inner spacing,
    lose trailing spaces); no empty verses."""
    normalized = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    verses = []
    for chunk in _BLANK_RUN.split(normalized):
        lines = [line.rstrip() for line in chunk.split("\n")]
        verse = "\n".join(lines).strip()
        if verse:
            verses.append(verse)
    return verses


def normalize_tags(tags: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Tags trimmed, inner whitespace collapsed, a leading '#' dropped, lower-cased,
    de-duplicated (first one wins), order kept. A string is split on commas and new lines.

    Raises Invalid for a tag longer than MAX_TAG_CHARS, more than MAX_TAGS tags, or control
    characters."""
    if tags is None:
        return []
    items = re.split(r"[,\n\r]", tags) if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise Invalid("Tags must be text.")
        _check_encodable(item, "tags")
        bad = _control_chars(item, {"\t"})
        if bad:
            raise Invalid(
                f"A tag contains a control character ({_describe_char(bad[0])}); "
                "remove it and try again."
            )
        tag = _SPACES.sub(" ", item).strip().lstrip("#").strip().lower()
        if not tag or tag in out:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise Invalid(
                f"The tag “{tag[:20]}…” is {len(tag)} characters; a tag can have at most "
                f"{MAX_TAG_CHARS}."
            )
        out.append(tag)
    if len(out) > MAX_TAGS:
        raise Invalid(f"The song has {len(out)} tags; the limit is {MAX_TAGS}.")
    return out


@dataclass(frozen=True)
class SongDraft:
    """A validated draft: what `create_song_draft` stores."""

    title: str
    tags: list[str]
    verses: list[str]


def check_draft(title: str, tags: str | list[str] | None, text: str) -> SongDraft:
    """Validate the "Create song draft" form; raises Invalid with a message for the person."""
    title = _SPACES.sub(" ", title or "").strip()
    if not title:
        raise Invalid("Give the song a title.")
    _check_encodable(title, "title")
    bad = _control_chars(title)
    if bad:
        raise Invalid(
            f"The title contains a control character ({_describe_char(bad[0])}); "
            "remove it and try again."
        )
    if len(title) > MAX_TITLE_CHARS:
        raise Invalid(f"The title is {len(title):,} characters; the limit is {MAX_TITLE_CHARS}.")
    text = text or ""
    if len(text) > MAX_TEXT_CHARS:
        raise Invalid(
            f"The song text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}."
        )
    _check_encodable(text, "song text")
    bad = _control_chars(text, _ALLOWED_IN_TEXT)
    if bad:
        line = text[: text.index(bad[0])].count("\n") + 1
        raise Invalid(
            f"The song text contains a control character ({_describe_char(bad[0])}) on line "
            f"{line}; remove it and try again."
        )
    verses = split_verses(text)
    if not verses:
        raise Invalid("Paste the song text: verses are separated by blank lines.")
    for number, verse in enumerate(verses, start=1):
        if len(verse) > MAX_VERSE_CHARS:
            raise Invalid(
                f"Verse {number} is {len(verse):,} characters; a verse can have at most "
                f"{MAX_VERSE_CHARS:,}. Separate verses with a blank line."
            )
    if len(verses) > MAX_VERSES:
        raise Invalid(
            f"The song has {len(verses):,} verses; the limit is {MAX_VERSES} "
            "(each verse is one illustration)."
        )
    return SongDraft(title, normalize_tags(tags), verses)


# ---------------------------------------------------------------------------------------------
# Keys, labels, providers
# ---------------------------------------------------------------------------------------------


def song_key(song_id: str) -> str:
    """The concurrency key shared by the verse jobs of one song."""
    return f"song:{song_id}"


def verse_label(number: int, title: str) -> str:
    short = title if len(title) <= LABEL_TITLE_CHARS else title[: LABEL_TITLE_CHARS - 1] + "…"
    return f"Verse {number} · {short}"


def _form_key(owner_id: str, idempotency_key: str) -> str:
    """The form submission's key, namespaced by owner, so keys never cross people."""
    if not idempotency_key or not str(idempotency_key).strip():
        raise ValueError("an idempotency key is required")
    digest = hashlib.sha256(f"{owner_id}\0{idempotency_key}".encode()).hexdigest()
    return f"{JOB_KIND}:{digest}"


def _job_key(form_key: str, number: int) -> str:
    return f"{form_key}:{number}"


def choose_provider(services: Services) -> tuple[str, str]:
    """(provider, model) for a song's new conversation: OpenRouter when its key is set,
    otherwise the offline renderer."""
    for status in services.providers:
        if status.name == "openrouter" and status.available:
            return "openrouter", services.settings.openrouter_model
    return OFFLINE_PROVIDER, OFFLINE_MODEL


def illustration_request(prompt: str, **kw: Any) -> ImageRequest:
    """The request shape of every verse illustration (16:9)."""
    return ImageRequest(
        mode="text_to_image",
        prompt=prompt,
        width=ILLUSTRATION_WIDTH,
        height=ILLUSTRATION_HEIGHT,
        aspect_ratio=ILLUSTRATION_ASPECT,
        **kw,
    )


def _estimate(services: Services) -> float | None:
    """What one verse is expected to cost with the provider a new song would use."""
    name, model = choose_provider(services)
    try:
        return services.provider(name).estimate_cost(model, illustration_request("verse"))
    except Exception:  # an unknown price must not block a draft; the ledger has the actual
        return None


# ---------------------------------------------------------------------------------------------
# Creating and publishing
# ---------------------------------------------------------------------------------------------


class _Replayed(Exception):
    """The form's idempotency key was taken by a concurrent submission: roll ours back."""


def _replay(db: Session, owner_id: str, form_key: str) -> Song | None:
    """The song an earlier submission with this key made, if any (found by its first job)."""
    payload = db.scalar(sa.select(Job.payload).where(Job.idempotency_key == _job_key(form_key, 1)))
    if not payload or not payload.get("song_id"):
        return None
    return db.scalar(
        sa.select(Song).where(Song.id == payload["song_id"], Song.owner_id == owner_id)
    )


def create_song_draft(
    services: Services,
    owner_id: str,
    *,
    title: str,
    tags: str | list[str] | None,
    text: str,
    idempotency_key: str,
) -> Song:
    """Store an unpublished song with its verses and enqueue one illustration job per verse,
    in verse order, in one transaction. Submitting the same form again (same idempotency key)
    returns the song the first submission made."""
    form_key = _form_key(owner_id, idempotency_key)
    with services.db() as db:
        found = _replay(db, owner_id, form_key)
    if found is not None:
        return found
    draft = check_draft(title, tags, text)
    estimate = _estimate(services)
    try:
        with services.db() as db:
            song = Song(owner_id=owner_id, title=draft.title, tags=draft.tags, published=False)
            db.add(song)
            db.flush()
            verses = [
                SongVerse(song_id=song.id, sequence_number=n, text=verse)
                for n, verse in enumerate(draft.verses, start=1)
            ]
            db.add_all(verses)
            db.flush()
            for verse in verses:
                job = services.queue.enqueue(
                    JOB_KIND,
                    {"song_id": song.id, "verse_id": verse.id, "verse": verse.sequence_number},
                    db=db,
                    idempotency_key=_job_key(form_key, verse.sequence_number),
                    concurrency_key=song_key(song.id),
                    ordered=True,
                    sequence=verse.sequence_number,
                    owner_id=owner_id,
                    label=verse_label(verse.sequence_number, song.title),
                    cost_estimate=estimate,
                )
                if (job.payload or {}).get("song_id") != song.id:
                    raise _Replayed()
    except _Replayed:
        with services.db() as db:
            found = _replay(db, owner_id, form_key)
        if found is None:
            raise Conflict(
                "This form was already submitted and its song no longer exists; submit it again."
            ) from None
        return found
    return song


def set_published(services: Services, owner_id: str, song_id: str, published: bool) -> Song:
    """Publish or unpublish a song."""
    with services.db() as db:
        song = db.scalar(
            sa.select(Song).where(Song.id == song_id, Song.owner_id == owner_id).with_for_update()
        )
        if song is None:
            raise NotFound(SONG_NOT_FOUND)
        if song.published != bool(published):
            song.published = bool(published)
            song.updated_at = utcnow()
        return song


# ---------------------------------------------------------------------------------------------
# Read models
# ---------------------------------------------------------------------------------------------


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
    job_status: str | None
    job_stage: str | None
    last_error: str | None
    error_class: str | None
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
    jobs = Job.__table__
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
                .where(Song.owner_id == owner_id)
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


def _owned_song(db: Session, owner_id: str, song_id: str) -> Song:
    song = db.scalar(sa.select(Song).where(Song.id == song_id, Song.owner_id == owner_id))
    if song is None:
        raise NotFound(SONG_NOT_FOUND)
    return song


def _verse_waiting(job: Any | None, head: QueueHead | None) -> str:
    if job is None or job.status != "pending" or head is None:
        return ""
    if head.job_id == job.id:
        return ""
    if head.status == "failed":
        return f"waits for verse {head.verse_number} (failed)"
    return f"after verse {head.verse_number}"


def get_song(services: Services, owner_id: str, song_id: str) -> SongView:
    """The song with every verse: its illustration and thumbnail, the prompt, provider, model
    and summary of its latest artifact, and its job's state (a fixed number of queries)."""
    jobs = Job.__table__
    key = song_key(song_id)
    with services.db() as db:
        song = _owned_song(db, owner_id, song_id)
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
                sa.func.row_number()
                .over(
                    partition_by=SongGenerationVerseArtifact.verse_id,
                    order_by=(
                        SongGenerationVerseArtifact.created_at.desc(),
                        SongGenerationVerseArtifact.id.desc(),
                    ),
                )
                .label("rank"),
            )
            .join(SongVerse, SongVerse.id == SongGenerationVerseArtifact.verse_id)
            .where(SongVerse.song_id == song_id)
            .subquery()
        )
        artifact_rows = db.execute(sa.select(ranked).where(ranked.c.rank == 1)).all()
        artifacts = {a.verse_id: a for a in artifact_rows}
        conversation = db.get(SongGenerationConversation, song_id)
        job_rows = db.execute(
            sa.select(
                jobs.c.id,
                jobs.c.payload,
                jobs.c.status,
                jobs.c.stage,
                jobs.c.last_error,
                jobs.c.error_class,
                jobs.c.retry_count,
            )
            .where(jobs.c.concurrency_key == key, jobs.c.kind == JOB_KIND)
            .order_by(jobs.c.created_at, jobs.c.id)
        ).all()
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
                job_status=job.status if job else None,
                job_stage=job.stage if job else None,
                last_error=job.last_error if job else None,
                error_class=job.error_class if job else None,
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
        conversation=Conversation(
            conversation.provider,
            conversation.model,
            conversation.conversation_id,
            conversation.created_at,
        )
        if conversation
        else None,
    )


# ---------------------------------------------------------------------------------------------
# Requeue and skip from the song page
# ---------------------------------------------------------------------------------------------


def _verse_job(services: Services, owner_id: str, song_id: str, verse_id: str) -> str:
    """The latest job of an owned verse."""
    jobs = Job.__table__
    with services.db() as db:
        _owned_song(db, owner_id, song_id)
        rows = db.execute(
            sa.select(jobs.c.id, jobs.c.payload)
            .where(jobs.c.concurrency_key == song_key(song_id), jobs.c.kind == JOB_KIND)
            .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        ).all()
    for row in rows:
        if (row.payload or {}).get("verse_id") == verse_id:
            return str(row.id)
    raise NotFound(VERSE_NOT_FOUND)


def requeue_verse(services: Services, owner_id: str, song_id: str, verse_id: str) -> None:
    """Put a failed or skipped verse back in the queue, in its place in the song's order."""
    services.queue.requeue(_verse_job(services, owner_id, song_id, verse_id))


def skip_verse(services: Services, owner_id: str, song_id: str, verse_id: str) -> None:
    """Skip a pending or failed verse, so the verses after it can go on."""
    services.queue.cancel(_verse_job(services, owner_id, song_id, verse_id))
