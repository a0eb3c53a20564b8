"""The `verse_illustration` job (studio/songs/job.py) on both databases: the conversation
record, replayed context (checked on the requests the fake OpenRouter server received),
artifacts, storage, the usage ledger, and requeue / skip of a failed verse."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import (
    ImageAsset,
    Song,
    SongGenerationConversation,
    SongGenerationVerseArtifact,
    SongVerse,
    UsageLedger,
)
from studio import songs
from studio.jobs.worker import JobOutcome, process_next
from studio.providers.local import HUE_WORDS
from studio.providers.openrouter import OpenRouterProvider
from studio.services import Services
from studio.songs import prompts as song_prompts
from studio.songs.job import GONE
from tests.conftest import make_settings
from tests.helpers.song_provider import ScriptedProvider, use_provider
from tests.providers.fakes import OpenRouterFake, Reply, chat_completion, png

OWNER = "local"
LYRICS = """A girl in a red coat
counts the lanterns S1V1

The boatman hums S1V2
a song from the sea

The last lantern S1V3
follows the tide"""


def create(services: Services, text: str = LYRICS, title: str = "Lanterns") -> Song:
    return songs.create_song_draft(
        services,
        OWNER,
        title=title,
        tags="folk, night",
        text=text,
        idempotency_key=str(uuid.uuid4()),
    )


def run_all(services: Services) -> list[JobOutcome]:
    outcomes = []
    while (outcome := process_next(services, "test")) is not None:
        outcomes.append(outcome)
    return outcomes


def artifacts(services: Services, song_id: str) -> list[SongGenerationVerseArtifact]:
    with services.db() as db:
        return list(
            db.scalars(
                sa.select(SongGenerationVerseArtifact)
                .join(SongVerse, SongVerse.id == SongGenerationVerseArtifact.verse_id)
                .where(SongVerse.song_id == song_id)
                .order_by(SongVerse.sequence_number)
            ).all()
        )


def conversations(services: Services) -> list[SongGenerationConversation]:
    with services.db() as db:
        return list(db.scalars(sa.select(SongGenerationConversation)).all())


def verse_job_id(services: Services, song_id: str, number: int) -> str:
    view = songs.get_song(services, OWNER, song_id)
    job_id = view.verses[number - 1].job_id
    assert job_id is not None
    return job_id


# ---------------------------------------------------------------------------------------------
# Offline renderer
# ---------------------------------------------------------------------------------------------


def test_offline_song_is_illustrated_in_one_conversation(services: Services) -> None:
    scripted = use_provider(services, ScriptedProvider())
    song = create(services)
    outcomes = run_all(services)
    assert [o.label for o in outcomes] == [f"Verse {n} · Lanterns" for n in (1, 2, 3)]
    assert all(o.status == "completed" for o in outcomes)

    [conversation] = conversations(services)
    assert (conversation.song_id, conversation.provider, conversation.model) == (
        song.id,
        "local",
        "sketch",
    )
    assert uuid.UUID(conversation.conversation_id).version == 4
    requests = [c.request for c in scripted.calls]
    assert {r.conversation_id for r in requests} == {conversation.conversation_id}
    assert len({r.seed for r in requests}) == 1  # one seed per song keeps the offline look
    assert [len(r.context) for r in requests] == [0, 2, 4]
    assert all((r.width, r.height, r.aspect_ratio) == (1024, 576, "16:9") for r in requests)

    arts = artifacts(services, song.id)
    assert [a.job_id for a in arts] == [o.job_id for o in outcomes]
    assert arts[0].prompt.startswith('You are illustrating the song "Lanterns"')
    assert (
        "Its tags: folk, night." in arts[0].prompt and "counts the lanterns S1V1" in arts[0].prompt
    )
    assert arts[1].prompt.startswith('Verse 2 of 3 of "Lanterns":\n\nThe boatman hums S1V2')
    assert arts[2].prompt.startswith('Verse 3 of 3 of "Lanterns"')
    assert arts[0].image_summary == "Offline sketch for verse 1 (“A girl in a red coat”)."

    # Verse 3 replays verses 1 and 2: their prompt, then their summary and thumbnail.
    third = requests[2].context
    assert [t.role for t in third] == ["user", "assistant", "user", "assistant"]
    assert [third[0].text, third[2].text] == [arts[0].prompt, arts[1].prompt]
    assert [third[1].text, third[3].text] == [arts[0].image_summary, arts[1].image_summary]
    bucket = services.settings.verse_illustrations_bucket
    assert third[1].image == services.storage.get(bucket, arts[0].thumbnail_key)
    assert third[1].mime_type == "image/webp"

    view = songs.get_song(services, OWNER, song.id)
    assert view.progress.illustrated == 3 and view.progress.waiting_on == ""
    with services.db() as db:
        for verse, art in zip(view.verses, arts, strict=True):
            asset = db.get_one(ImageAsset, art.image_asset_id)
            assert verse.illustration is not None and verse.illustration.id == asset.id
            assert (asset.bucket, asset.role, asset.owner_id) == (bucket, "output", OWNER)
            assert services.storage.exists(bucket, asset.key)
            assert art.thumbnail_key == asset.thumbnail_key == verse.thumbnail_key
            assert services.storage.exists(bucket, art.thumbnail_key)
            assert (verse.prompt, verse.provider, verse.model, verse.summary) == (
                art.prompt,
                "local",
                "sketch",
                art.image_summary,
            )
        ledger = db.scalars(sa.select(UsageLedger).order_by(UsageLedger.created_at)).all()
    assert [(row.kind, row.provider, row.model, row.units) for row in ledger] == [
        ("verse_illustration", "local", "sketch", 1.0)
    ] * 3
    assert [row.job_id for row in ledger] == [o.job_id for o in outcomes]
    job = services.queue.get(outcomes[2].job_id)
    assert job.result["conversation_id"] == conversation.conversation_id
    assert job.result["replayed_verses"] == 2
    assert (job.result["asset_id"], job.result["artifact_id"]) == (
        arts[2].image_asset_id,
        arts[2].id,
    )


def test_verse_illustrations_bucket_is_configurable(
    tmp_path: Path, db_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPABASE_VERSE_ILLUSTRATIONS_BUCKET", "song-art")
    services = Services.build(make_settings(tmp_path, db_url), engine=engine, migrate=False)
    song = create(services, "only verse")
    run_all(services)
    verse = songs.get_song(services, OWNER, song.id).verses[0]
    assert verse.illustration is not None and verse.illustration.bucket == "song-art"
    assert services.storage.exists("song-art", verse.illustration.key)


def test_two_songs_have_two_conversations(services: Services) -> None:
    use_provider(services, ScriptedProvider())
    a, b = create(services, "a S1V1\n\nb S1V2", "A"), create(services, "c S2V1", "B")
    run_all(services)
    by_song = {c.song_id: c.conversation_id for c in conversations(services)}
    assert set(by_song) == {a.id, b.id} and by_song[a.id] != by_song[b.id]


# ---------------------------------------------------------------------------------------------
# OpenRouter (real openai SDK against the fake server)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def openrouter_fake() -> Iterator[OpenRouterFake]:
    with OpenRouterFake() as fake:
        yield fake


def openrouter_services(
    tmp_path: Path, db_url: str, engine: sa.Engine, fake: OpenRouterFake
) -> Services:
    settings = make_settings(
        tmp_path, db_url, openrouter_api_key="test", openrouter_base_url=f"{fake.url}/api/v1"
    )
    services = Services.build(settings, engine=engine, migrate=False)
    quick = OpenRouterProvider(
        "test",
        model=settings.openrouter_model,
        base_url=f"{fake.url}/api/v1",
        app_title="Image Studio Tests",
        timeout=10,
        max_retries=0,
    )
    services.providers = [
        dataclasses.replace(s, provider=quick) if s.name == "openrouter" else s
        for s in services.providers
    ]
    return services


def _parts(message: dict) -> tuple[str, list[bytes], list[str]]:
    """(text, image bytes, image mime types) of a chat message's content parts."""
    texts, images, mimes = [], [], []
    for part in message["content"]:
        if part["type"] == "text":
            texts.append(part["text"])
        else:
            found = re.match(r"data:([^;]+);base64,(.*)", part["image_url"]["url"], re.S)
            assert found, part
            mimes.append(found.group(1))
            images.append(base64.b64decode(found.group(2)))
    return "\n".join(texts), images, mimes


def test_openrouter_carries_the_conversation_and_replays_earlier_verses(
    tmp_path: Path, db_url: str, engine: sa.Engine, openrouter_fake: OpenRouterFake
) -> None:
    services = openrouter_services(tmp_path, db_url, engine, openrouter_fake)
    pictures = [png((64, 36), c) for c in ((200, 30, 30), (30, 200, 30), (30, 30, 200))]
    for n, picture in enumerate(pictures, start=1):
        openrouter_fake.enqueue(
            Reply(200, chat_completion(text=f"Summary {n}: the girl in red.", images=[picture]))
        )
    song = create(services)
    outcomes = run_all(services)
    assert [o.status for o in outcomes] == ["completed"] * 3

    [conversation] = conversations(services)
    cid = conversation.conversation_id
    assert (conversation.provider, conversation.model) == (
        "openrouter",
        "google/gemini-2.5-flash-image",
    )
    sent = [r for r in openrouter_fake.requests if r.path == "/api/v1/chat/completions"]
    assert len(sent) == 3
    for request in sent:
        assert request.headers["x-conversation-id"] == cid
        assert request.headers["x-session-id"] == cid
        assert request.json["session_id"] == cid
        assert request.json["model"] == "google/gemini-2.5-flash-image"
        assert request.json["modalities"] == ["image", "text"]
        assert request.json["image_config"] == {"aspect_ratio": "16:9"}
        assert "seed" not in request.json

    arts = artifacts(services, song.id)
    assert [a.image_summary for a in arts] == [f"Summary {n}: the girl in red." for n in (1, 2, 3)]
    assert [(a.provider, a.model) for a in arts] == [
        ("openrouter", "google/gemini-2.5-flash-image")
    ] * 3
    bucket = services.settings.verse_illustrations_bucket
    thumbs = [services.storage.get(bucket, a.thumbnail_key) for a in arts]

    # Verse 1: the initial prompt alone.
    [only] = sent[0].json["messages"]
    assert only["role"] == "user"
    assert _parts(only)[0] == arts[0].prompt
    assert arts[0].prompt.startswith("You are illustrating the song")

    # Verse 3: verses 1 and 2 replayed inside its user message (each prompt, then the summary
    # and the thumbnail as a reference image), then its own prompt. Earlier pictures are never
    # sent back as assistant images: Gemini 3 refuses those without their reasoning details.
    [message] = sent[2].json["messages"]
    assert message["role"] == "user"
    text, images, mimes = _parts(message)
    assert images == [thumbs[0], thumbs[1]] and mimes == ["image/webp"] * 2
    for art in arts[:2]:
        assert f"Earlier request: {art.prompt}" in text
        assert f"Your answer to it: {art.image_summary}" in text
    assert text.endswith(arts[2].prompt)
    assert arts[2].prompt.startswith('Verse 3 of 3 of "Lanterns"')
    assert len(sent[1].json["messages"]) == 1 and len(_parts(sent[1].json["messages"][0])[1]) == 1
    assert openrouter_fake.refused == []

    # The stored illustration is the model's picture, transcoded; the thumbnail is WebP.
    with services.db() as db:
        stored = [db.get_one(ImageAsset, a.image_asset_id) for a in arts]
        ledger = db.scalars(sa.select(UsageLedger)).all()
    for asset, picture in zip(stored, pictures, strict=True):
        got = Image.open(io.BytesIO(services.storage.get(bucket, asset.key))).convert("RGB")
        assert got.tobytes() == Image.open(io.BytesIO(picture)).convert("RGB").tobytes()
    assert Image.open(io.BytesIO(thumbs[0])).format == "WEBP"
    # The cost OpenRouter reports for each verse (usage.cost), as recorded in the ledger.
    assert len(ledger) == 3 and all(row.provider == "openrouter" for row in ledger)
    assert [row.cost_actual for row in ledger] == pytest.approx(
        [row.usage["cost"] for row in ledger]
    )
    assert all(row.cost_actual > 0 for row in ledger)


# ---------------------------------------------------------------------------------------------
# A failed verse: requeue or skip
# ---------------------------------------------------------------------------------------------


def failing(verse_marker: str, times: int = 1) -> ScriptedProvider:
    left = {"n": times}

    def fail_when(request):  # type: ignore[no-untyped-def]
        if verse_marker in request.prompt and left["n"] > 0:
            left["n"] -= 1
            return "The model refused this verse."
        return None

    return ScriptedProvider(fail_when=fail_when)


def test_a_failed_verse_holds_the_song_until_requeued_and_order_is_kept(
    services: Services,
) -> None:
    scripted = use_provider(services, failing("S1V2"))
    song = create(services)
    first, second = run_all(services)
    assert (first.status, second.status) == ("completed", "failed")
    assert process_next(services, "test") is None  # verse 3 waits behind the failed verse 2

    view = songs.get_song(services, OWNER, song.id)
    assert view.progress.blocked
    assert view.progress.waiting_on == "verse 2 failed, verse 3 waits: requeue or skip it"
    assert view.verses[1].state.error == "The model refused this verse."

    songs.requeue_verse(services, OWNER, song.id, view.verses[1].id)
    outcomes = run_all(services)
    assert [o.label for o in outcomes] == ["Verse 2 · Lanterns", "Verse 3 · Lanterns"]
    assert [c.marker for c in scripted.calls] == ["S1V1", "S1V2", "S1V2", "S1V3"]
    job = services.queue.get(verse_job_id(services, song.id, 2))
    assert (job.status, job.retry_count) == ("completed", 1)
    third = services.queue.get(verse_job_id(services, song.id, 3))
    assert third.started_at >= job.completed_at

    # The retried verse 2 was still a next-verse prompt replaying verse 1 only.
    retried = scripted.calls[2].request
    assert retried.prompt.startswith("Verse 2 of 3") and len(retried.context) == 2
    assert len(scripted.calls[3].request.context) == 4
    view = songs.get_song(services, OWNER, song.id)
    assert view.progress.illustrated == 3 and not view.progress.blocked
    assert len(artifacts(services, song.id)) == 3


def test_skipping_a_failed_verse_lets_the_rest_continue(services: Services) -> None:
    scripted = use_provider(services, failing("S1V2", times=99))
    song = create(services)
    run_all(services)
    view = songs.get_song(services, OWNER, song.id)
    songs.skip_verse(services, OWNER, song.id, view.verses[1].id)

    [outcome] = run_all(services)
    assert outcome.label == "Verse 3 · Lanterns" and outcome.status == "completed"
    third = scripted.calls[-1].request
    # Only verse 1 has an artifact to replay.
    assert [t.role for t in third.context] == ["user", "assistant"]
    assert third.prompt.startswith("Verse 3 of 3")

    view = songs.get_song(services, OWNER, song.id)
    assert [v.state.status for v in view.verses] == ["succeeded", "canceled", "succeeded"]
    assert [v.illustration is not None for v in view.verses] == [True, False, True]
    assert view.progress.skipped == 1 and view.progress.head is None
    assert view.progress.waiting_on == "nothing: 1 verse(s) skipped, none queued"


def test_when_verse_one_is_skipped_the_next_verse_opens_the_conversation(
    services: Services,
) -> None:
    scripted = use_provider(services, ScriptedProvider())
    song = create(services)
    songs.skip_verse(
        services, OWNER, song.id, songs.get_song(services, OWNER, song.id).verses[0].id
    )
    run_all(services)
    assert [c.marker for c in scripted.calls] == ["S1V2", "S1V3"]
    assert scripted.calls[0].request.prompt.startswith("You are illustrating the song")
    assert "This is verse 2:" in scripted.calls[0].request.prompt
    assert scripted.calls[1].request.prompt.startswith("Verse 3 of 3")
    [conversation] = conversations(services)
    assert conversation.song_id == song.id


def test_a_deleted_song_fails_its_verse_with_a_clear_message(services: Services) -> None:
    song = create(services, "only verse")
    with services.db() as db:
        db.execute(sa.delete(Song).where(Song.id == song.id))
    [outcome] = run_all(services)
    assert outcome.status == "failed" and outcome.message == GONE


# ---------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------


def test_prompt_templates_leave_the_palette_to_the_song() -> None:
    """The offline renderer colours a picture from the prompt's words: the fixed text of the
    templates must not contain any of them."""
    for template in (song_prompts.INITIAL_ILLUSTRATION_PROMPT, song_prompts.NEXT_VERSE_PROMPT):
        words = set(re.findall(r"[a-z]+", template.lower()))
        assert not words & set(HUE_WORDS), words & set(HUE_WORDS)


def test_replay_keeps_the_first_and_the_latest_verses() -> None:
    limit = song_prompts.MAX_REPLAYED_VERSES
    assert song_prompts.replayed(list(range(5))) == [0, 1, 2, 3, 4]
    many = list(range(1, 21))
    assert song_prompts.replayed(many) == [1, *range(21 - (limit - 1), 21)]
    assert len(song_prompts.replayed(many)) == limit
