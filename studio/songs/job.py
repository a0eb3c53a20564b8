"""The `verse_illustration` job: illustrate one verse of a song.

The queue runs the verses of a song one at a time, in order (they share the song's concurrency
key, `ordered`, sequence = verse number). Stages:
- processing: load the song and verse; the first verse creates the song's conversation record
  (provider, model, a new UUID conversation id), later verses reuse it; the earlier verses'
  artifacts (their prompt, then the model's summary + thumbnail) become replayed turns;
- generating: the provider call (OpenRouter when configured, otherwise the offline renderer);
- uploading: transcode, thumbnail and store the image in the verse-illustrations bucket;
- then one transaction: the asset row, the verse's link to it, the artifact (prompt, provider,
  model, image, thumbnail, summary), the usage ledger row and the job's completion.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from db.schema import (
    ImageAsset,
    Song,
    SongGenerationConversation,
    SongGenerationVerseArtifact,
    SongVerse,
)
from db.types import utcnow
from studio import search
from studio.errors import NotFound
from studio.jobs import outputs
from studio.jobs.kinds import JobContext, JobKind
from studio.jobs.queue import ClaimedJob
from studio.providers.base import ImageRequest, ImageResult, Turn
from studio.songs import (
    JOB_KIND,
    OFFLINE_PROVIDER,
    choose_provider,
    illustration_request,
    prompts,
)
from studio.songs.illustration import artifact_rank
from studio.storage import StorageError

if TYPE_CHECKING:
    from studio.services import Services

KIND = JOB_KIND
GONE = "This verse (or its song) was deleted; there is nothing to illustrate."
THUMBNAIL_MIME = "image/webp"  # assets.store_prepared writes WebP thumbnails


@dataclass
class _Work:
    """Everything the provider call needs, loaded in the processing stage."""

    song_id: str
    verse_id: str
    verse_number: int
    owner_id: str
    provider_name: str
    model: str
    conversation_id: str
    prompt: str
    request: ImageRequest
    estimate: float | None = None


def _ids(job: ClaimedJob) -> tuple[str, str]:
    payload = job.payload or {}
    song_id, verse_id = payload.get("song_id"), payload.get("verse_id")
    if not song_id or not verse_id:
        raise NotFound("The job names no verse to illustrate.")
    return str(song_id), str(verse_id)


def _conversation(services: Services, song_id: str) -> SongGenerationConversation:
    """The song's conversation, created by the first verse that needs it."""
    with services.db() as db:
        found = db.get(SongGenerationConversation, song_id)
        if found is not None:
            return found
    provider, model = choose_provider(services)
    try:
        with services.db() as db:
            conversation = SongGenerationConversation(
                song_id=song_id, provider=provider, model=model, conversation_id=str(uuid.uuid4())
            )
            db.add(conversation)
        return conversation
    except sa.exc.IntegrityError:  # a cleared run of this verse created it meanwhile
        with services.db() as db:
            return db.get_one(SongGenerationConversation, song_id)


def _replay_turns(services: Services, song_id: str, before: int) -> list[Turn]:
    """The earlier verses' artifacts as turns: the prompt (user), then the model's summary and
    the thumbnail of its picture (assistant)."""
    ranked = (
        sa.select(
            SongGenerationVerseArtifact.prompt,
            SongGenerationVerseArtifact.image_summary,
            SongGenerationVerseArtifact.thumbnail_key,
            ImageAsset.bucket,
            SongVerse.sequence_number,
            artifact_rank(),
        )
        .join(SongVerse, SongVerse.id == SongGenerationVerseArtifact.verse_id)
        .outerjoin(ImageAsset, ImageAsset.id == SongGenerationVerseArtifact.image_asset_id)
        .where(SongVerse.song_id == song_id, SongVerse.sequence_number < before)
        .subquery()
    )
    with services.db() as db:
        rows = db.execute(
            sa.select(ranked).where(ranked.c.rank == 1).order_by(ranked.c.sequence_number)
        ).all()
    turns: list[Turn] = []
    for row in prompts.replayed(rows):
        image = None
        if row.thumbnail_key:
            bucket = row.bucket or services.settings.verse_illustrations_bucket
            try:
                image = services.storage.get(bucket, row.thumbnail_key)
            except StorageError:  # a lost thumbnail: the summary alone still helps
                image = None
        turns.append(Turn("user", row.prompt))
        turns.append(Turn("assistant", row.image_summary or "", image, THUMBNAIL_MIME))
    return turns


def _seed(conversation_id: str) -> int:
    """One seed per song, so the offline renderer keeps a song's verses alike."""
    return int(hashlib.sha256(conversation_id.encode()).hexdigest()[:8], 16) % (2**31)


def _load(ctx: JobContext) -> _Work:
    """Processing: the song, the verse, the conversation and the replayed context."""
    services = ctx.services
    song_id, verse_id = _ids(ctx.job)
    with services.db() as db:
        row = db.execute(
            sa.select(Song, SongVerse)
            .join(SongVerse, SongVerse.song_id == Song.id)
            .where(Song.id == song_id, SongVerse.id == verse_id)
        ).first()
        if row is None:
            raise NotFound(GONE)
        song, verse = row
        verse_count = db.scalar(sa.select(sa.func.count()).where(SongVerse.song_id == song_id))
    conversation = _conversation(services, song_id)
    context = _replay_turns(services, song_id, verse.sequence_number)
    # The first verse to be illustrated sets the scene (verse 1, or the first after skips).
    write = prompts.next_verse_prompt if context else prompts.initial_prompt
    prompt = write(
        title=song.title,
        tags=list(song.tags or []),
        verse=verse.text,
        number=verse.sequence_number,
        verse_count=int(verse_count or 0),
    )
    request = illustration_request(
        prompt,
        context=context,
        conversation_id=conversation.conversation_id,
        seed=_seed(conversation.conversation_id)
        if conversation.provider == OFFLINE_PROVIDER
        else None,
    )
    return _Work(
        song_id=song_id,
        verse_id=verse_id,
        verse_number=verse.sequence_number,
        owner_id=song.owner_id,
        provider_name=conversation.provider,
        model=conversation.model,
        conversation_id=conversation.conversation_id,
        prompt=prompt,
        request=request,
    )


def _summary(work: _Work, result: ImageResult, verse_text: str | None = None) -> str:
    """The model's own description of its picture. The offline renderer describes the prompt,
    not the picture, so its verses get a plain note instead."""
    text = (result.text or "").strip()
    if work.provider_name == OFFLINE_PROVIDER or not text:
        first = (verse_text or "").strip().splitlines()[0] if verse_text else ""
        first = first.rstrip(" ,;:.!?-–—")
        what = "Offline sketch" if work.provider_name == OFFLINE_PROVIDER else "Illustration"
        return f"{what} for verse {work.verse_number}" + (f" (“{first}”)." if first else ".")
    return text


def _commit(
    ctx: JobContext,
    work: _Work,
    result: ImageResult,
    stored: outputs.StoredOutput,
) -> dict[str, Any]:
    """One transaction: asset, verse link, artifact, ledger, the job's completion."""
    services = ctx.services
    with services.db() as db:
        verse = db.get(SongVerse, work.verse_id, with_for_update=True)
        song = db.get(Song, work.song_id)
        if verse is None or song is None:
            raise NotFound(GONE)
        asset = stored.row(work.owner_id)
        db.add(asset)
        db.flush()
        verse.illustration_asset_id = asset.id
        summary = _summary(work, result, verse.text)
        artifact = SongGenerationVerseArtifact(
            job_id=ctx.job.id,
            verse_id=verse.id,
            prompt=work.prompt,
            provider=work.provider_name,
            model=work.model,
            image_asset_id=asset.id,
            thumbnail_key=stored.thumbnail_key,
            image_summary=summary,
        )
        db.add(artifact)
        song.updated_at = utcnow()
        db.flush()  # the artifact's id, for the result
        search.index_verse_prompt(db, artifact, verse, work.owner_id)
        outcome = {
            "song_id": work.song_id,
            "verse_id": work.verse_id,
            "verse": work.verse_number,
            "asset_id": asset.id,
            "artifact_id": artifact.id,
            "conversation_id": work.conversation_id,
            "replayed_verses": sum(1 for t in work.request.context if t.role == "assistant"),
            "provider_request_id": result.provider_request_id,
        }
        charge = outputs.Charge.of(
            result,
            owner_id=work.owner_id,
            provider=work.provider_name,
            model=work.model,
            units=1.0,
            estimate=work.estimate,
        )
        return outputs.settle(ctx, db, outcome, charge)


def run(ctx: JobContext) -> dict[str, Any]:
    """Illustrate the verse named by the job's payload."""
    ctx.heartbeat()  # the claim already entered "processing": just check for a cancel
    work = _load(ctx)
    provider = ctx.services.provider(work.provider_name)
    try:
        work.estimate = provider.estimate_cost(work.model, work.request)
    except Exception:  # no known price: the ledger keeps the actual cost only
        work.estimate = None
    ctx.stage("generating")
    with ctx.keep_alive():  # a real provider call can outlast the lease
        result = provider.generate_image(work.model, work.request)
    result.require_images(work.provider_name)
    ctx.stage("uploading")
    bucket = ctx.services.settings.verse_illustrations_bucket
    stored = outputs.store_image(ctx.services, result.images[0], bucket)
    return _commit(ctx, work, result, stored)


VERSE_ILLUSTRATION = JobKind(KIND, run, "Verse illustration")
