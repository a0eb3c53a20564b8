"""Storyboards (studio/storyboards/) through the queue with the offline provider, on both
databases: entities, the four modes, history, idempotency, validation, exclusivity."""

from __future__ import annotations

import io
from datetime import timedelta

import av
import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset, Job, StoryboardEntity, StoryboardGeneration, UsageLedger
from db.types import utcnow
from studio import storyboards as sb
from studio.errors import InProgress, Invalid, LimitExceeded, NotFound
from studio.jobs.worker import JobOutcome, process_next
from studio.services import Services

OWNER = "alice"
OTHER = "bob"


def run_one(services: Services) -> JobOutcome:
    outcome = process_next(services, "test-worker")
    assert outcome is not None
    return outcome


def count(services: Services, model: type) -> int:
    with services.db() as db:
        return int(db.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def board_with_scene(services: Services) -> tuple[str, str]:
    board = sb.create_storyboard(services, OWNER, "The Lighthouse")
    scene = sb.add_entity(
        services,
        OWNER,
        board.id,
        kind="scene",
        name="Cliff at dusk",
        description="A hero on a cliff at sunset, wide shot",
    )
    return board.id, scene.id


def image_of(services: Services, asset: ImageAsset) -> Image.Image:
    return Image.open(io.BytesIO(services.storage.get(asset.bucket, asset.key)))


# ---------------------------------------------------------------------------------------------
# Storyboards and entities
# ---------------------------------------------------------------------------------------------


def test_create_list_and_edit_entities(services: Services) -> None:
    board = sb.create_storyboard(services, OWNER, "  The   Lighthouse ")
    assert board.title == "The Lighthouse"
    scene = sb.add_entity(services, OWNER, board.id, kind="scene", name="Cliff", description="")
    hero = sb.add_entity(
        services, OWNER, board.id, kind="character", name="Hero", description="Silver armor"
    )
    sb.update_entity(services, OWNER, scene.id, description="Storm over the cliff")
    sb.update_entity(services, OWNER, hero.id, name="Captain")

    [card] = sb.list_storyboards(services, OWNER)
    assert (card.title, card.scenes, card.characters) == ("The Lighthouse", 1, 1)
    view = sb.get_storyboard(services, OWNER, board.id)
    assert [e.name for e in view.scenes] == ["Cliff"]
    assert view.scenes[0].description == "Storm over the cliff"
    assert [(e.name, e.description) for e in view.characters] == [("Captain", "Silver armor")]
    assert view.scenes[0].image is None and view.scenes[0].video is None
    assert sb.list_storyboards(services, OTHER) == []


@pytest.mark.parametrize(
    ("kind", "name", "description", "message"),
    [
        ("scene", "   ", "", "Give the scene a name"),
        ("character", "", "", "Give the character a name"),
        ("scene", "x" * 201, "", "limit is 200"),
        ("scene", "Cliff", "d" * 4001, "limit is 4,000"),
        ("prop", "Sword", "", "scene or a character"),
    ],
)
def test_entity_validation(
    services: Services, kind: str, name: str, description: str, message: str
) -> None:
    board = sb.create_storyboard(services, OWNER, "Board")
    with pytest.raises(Invalid, match=message):
        sb.add_entity(services, OWNER, board.id, kind=kind, name=name, description=description)
    assert count(services, StoryboardEntity) == 0


def test_other_owners_see_nothing(services: Services) -> None:
    board_id, scene_id = board_with_scene(services)
    with pytest.raises(NotFound):
        sb.get_storyboard(services, OTHER, board_id)
    with pytest.raises(NotFound):
        sb.add_entity(services, OTHER, board_id, kind="scene", name="Intruder")
    with pytest.raises(NotFound):
        sb.update_entity(services, OTHER, scene_id, name="Mine now")
    with pytest.raises(NotFound):
        sb.request_image(services, OTHER, prompt="x", entity_id=scene_id, idempotency_key="k")
    with pytest.raises(Invalid, match="title"):
        sb.create_storyboard(services, OWNER, "   ")
    assert count(services, StoryboardGeneration) == 0 and count(services, Job) == 0


# ---------------------------------------------------------------------------------------------
# The four modes through the queue (offline provider)
# ---------------------------------------------------------------------------------------------


def test_image_edit_video_and_animate_update_the_entity(services: Services) -> None:
    board_id, scene_id = board_with_scene(services)

    # 1. text-to-image
    gen = sb.request_image(
        services, OWNER, prompt="A hero on a cliff", entity_id=scene_id, idempotency_key="img-1"
    )
    assert gen.provider == "local" and gen.model == "sketch"
    assert sb.get_generation(services, OWNER, gen.id).status == "queued"
    outcome = run_one(services)
    assert outcome.status == "completed" and outcome.kind == "storyboard_image"
    assert outcome.label == "Image · Cliff at dusk · The Lighthouse"
    view = sb.get_storyboard(services, OWNER, board_id).entity(scene_id)
    first_image = view.image
    assert first_image is not None and first_image.bucket == "storyboard-images"
    assert first_image.role == "output" and first_image.thumbnail_key
    assert image_of(services, first_image).size == (1024, 576)  # scenes are 16:9
    assert view.entity.image_generated_at is not None
    assert view.image_generation is not None and view.image_generation.prompt == "A hero on a cliff"

    # 2. image-to-image from the current image
    edit = sb.request_edit(
        services, OWNER, prompt="Add storm clouds", entity_id=scene_id, idempotency_key="edit-1"
    )
    assert edit.mode == "image_to_image" and edit.source_asset_id == first_image.id
    assert run_one(services).status == "completed"
    view = sb.get_storyboard(services, OWNER, board_id).entity(scene_id)
    assert view.image.id != first_image.id
    assert [g.asset.id for g in view.history("image")] == [first_image.id]  # the earlier version

    # 3. text-to-video
    video = sb.request_video(
        services,
        OWNER,
        prompt="Waves crash below",
        entity_id=scene_id,
        options=sb.VideoOptions.parse("16:9", 4, "720p"),
        idempotency_key="vid-1",
    )
    assert video.mode == "text_to_video" and video.source_asset_id is None
    outcome = run_one(services)
    assert outcome.status == "completed" and outcome.kind == "storyboard_video"
    view = sb.get_storyboard(services, OWNER, board_id).entity(scene_id)
    first_video = view.video
    assert first_video is not None and first_video.bucket == "storyboard-videos"
    assert first_video.role == "video" and first_video.mime_type == "video/mp4"
    assert (first_video.width, first_video.height) == (640, 360)
    assert view.entity.video_generated_at is not None
    data = services.storage.get(first_video.bucket, first_video.key)
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert float(stream.duration * stream.time_base) == pytest.approx(4.0, abs=0.2)

    # 4. animate the current image, portrait 9:16
    anim = sb.request_animate(
        services,
        OWNER,
        entity_id=scene_id,
        prompt="Camera zooms in",
        options=sb.VideoOptions.parse("9:16", "6", "1080p"),
        idempotency_key="anim-1",
    )
    assert anim.mode == "image_to_video" and anim.source_asset_id == view.image.id
    assert run_one(services).status == "completed"
    view = sb.get_storyboard(services, OWNER, board_id).entity(scene_id)
    assert (view.video.width, view.video.height) == (540, 960)
    assert [g.asset.id for g in view.history("video")] == [first_video.id]
    assert view.video_generation.params["duration_s"] == 6
    assert view.active == [] and view.last_failure("video") is None

    with services.db() as db:
        ledger = db.scalars(sa.select(UsageLedger).order_by(UsageLedger.created_at)).all()
    assert [row.kind for row in ledger] == ["storyboard_image"] * 2 + ["storyboard_video"] * 2
    assert all(row.provider == "local" and row.cost_actual == 0.0 for row in ledger)
    assert ledger[-1].units == 6.0  # seconds of video


def test_loose_image_without_a_storyboard(services: Services) -> None:
    gen = sb.request_image(services, OWNER, prompt="A lighthouse", idempotency_key="loose")
    assert gen.storyboard_id is None and gen.entity_id is None
    run_one(services)
    [view] = sb.list_unfiled(services, OWNER)
    assert view.status == "succeeded" and view.asset is not None
    assert image_of(services, view.asset).size == (1024, 1024)
    assert sb.list_unfiled(services, OTHER) == []


def test_same_idempotency_key_returns_the_same_request(services: Services) -> None:
    _, scene_id = board_with_scene(services)
    first = sb.request_image(services, OWNER, prompt="A", entity_id=scene_id, idempotency_key="k")
    again = sb.request_image(services, OWNER, prompt="A", entity_id=scene_id, idempotency_key="k")
    assert again.id == first.id and again.job_id == first.job_id
    other = sb.request_image(services, OTHER, prompt="A", idempotency_key="k")
    assert other.id != first.id  # keys are namespaced by owner
    assert count(services, StoryboardGeneration) == 2 and count(services, Job) == 2


def test_status_follows_the_job(services: Services) -> None:
    board_id, scene_id = board_with_scene(services)
    gen = sb.request_video(services, OWNER, prompt="Waves", entity_id=scene_id, idempotency_key="v")
    [active] = sb.get_storyboard(services, OWNER, board_id).entity(scene_id).active
    assert active.status == "queued" and active.media == "video"
    job = services.queue.claim("hung-worker")
    services.queue.clear(job.id)  # an editor clears it: the request shows the reason
    view = sb.get_storyboard(services, OWNER, board_id).entity(scene_id)
    assert view.active == []
    failure = view.last_failure("video")
    assert failure is not None and failure.id == gen.id and "Cleared" in failure.error


def test_a_provider_failure_reaches_the_request(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.providers.base import ProviderError
    from studio.providers.local import LocalProvider

    def refuse(self, model, request):  # type: ignore[no-untyped-def]
        raise ProviderError("permanent", "The provider refused this prompt for safety reasons.")

    monkeypatch.setattr(LocalProvider, "generate_image", refuse)
    board_id, scene_id = board_with_scene(services)
    sb.request_image(services, OWNER, prompt="x", entity_id=scene_id, idempotency_key="f")
    assert run_one(services).status == "failed"
    view = sb.get_storyboard(services, OWNER, board_id).entity(scene_id)
    failure = view.last_failure("image")
    assert failure is not None and failure.status == "failed"
    assert failure.error == "The provider refused this prompt for safety reasons."
    assert failure.state.error_class == "permanent"
    assert view.image is None and count(services, ImageAsset) == 0


# ---------------------------------------------------------------------------------------------
# Validation: clear messages, nothing stored
# ---------------------------------------------------------------------------------------------


def test_edit_and_animate_need_a_current_image(services: Services) -> None:
    _, scene_id = board_with_scene(services)
    with pytest.raises(Invalid, match="has no image yet"):
        sb.request_edit(services, OWNER, prompt="x", entity_id=scene_id, idempotency_key="a")
    with pytest.raises(Invalid, match="has no image yet"):
        sb.request_animate(services, OWNER, entity_id=scene_id, prompt="x", idempotency_key="b")
    with pytest.raises(Invalid, match="source image"):
        sb.request_edit(services, OWNER, prompt="x", idempotency_key="c")
    assert count(services, StoryboardGeneration) == 0 and count(services, Job) == 0


@pytest.mark.parametrize(
    ("aspect", "duration", "resolution", "message"),
    [
        ("4:3", 8, "720p", "Aspect ratio must be 16:9 or 9:16"),
        ("16:9", 5, "720p", "Duration must be 4, 6 or 8 seconds"),
        ("16:9", "ten", "720p", "Duration must be 4, 6 or 8 seconds"),
        ("16:9", True, "720p", "Duration must be"),
        ("16:9", 8, "4k", "Resolution must be 720p or 1080p"),
    ],
)
def test_video_options_are_checked(
    aspect: object, duration: object, resolution: object, message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        sb.VideoOptions.parse(aspect, duration, resolution)


def test_video_options_accept_the_queue_message_spellings() -> None:
    assert sb.VideoOptions.parse("9:16", "6", "1080P") == sb.VideoOptions("9:16", 6, "1080p")
    assert sb.VideoOptions.parse("16:9", "8s", "720p").duration_s == 8


def test_bad_requests_store_nothing(services: Services) -> None:
    board_id, scene_id = board_with_scene(services)
    cases = [
        (
            Invalid,
            lambda: sb.request_image(
                services, OWNER, prompt="  ", entity_id=scene_id, idempotency_key="1"
            ),
        ),
        (
            NotFound,
            lambda: sb.request_image(
                services, OWNER, prompt="x", storyboard_id="nope", idempotency_key="2"
            ),
        ),
        (
            NotFound,
            lambda: sb.request_image(
                services, OWNER, prompt="x", entity_id="nope", idempotency_key="3"
            ),
        ),
        (
            Invalid,
            lambda: sb.request_image(
                services,
                OWNER,
                prompt="x",
                entity_id=scene_id,
                entity_kind="character",
                idempotency_key="4",
            ),
        ),
        (
            Invalid,
            lambda: sb.request_edit(
                services,
                OWNER,
                prompt="x",
                source=sb.Source(data=b"not an image", name="notes.txt"),
                idempotency_key="5",
            ),
        ),
        (
            NotFound,
            lambda: sb.request_video(
                services,
                OWNER,
                prompt="x",
                source=sb.Source(asset_id="0" * 8 + "-0000-0000-0000-" + "0" * 12),
                idempotency_key="6",
            ),
        ),
        (
            Invalid,
            lambda: sb.request_image(
                services, OWNER, prompt="x", provider="openai", idempotency_key="7"
            ),
        ),
        (
            Invalid,
            lambda: sb.request_image(
                services, OWNER, prompt="x", model="motion", provider="local", idempotency_key="8"
            ),
        ),
        (
            Invalid,
            lambda: sb.request_video(
                services, OWNER, prompt="x", model="sketch", provider="local", idempotency_key="9"
            ),
        ),
    ]
    for error, call in cases:
        with pytest.raises(error):
            call()
    other = sb.create_storyboard(services, OWNER, "Other")
    with pytest.raises(Invalid, match="another storyboard"):
        sb.request_image(
            services,
            OWNER,
            prompt="x",
            storyboard_id=other.id,
            entity_id=scene_id,
            idempotency_key="10",
        )
    assert count(services, StoryboardGeneration) == 0 and count(services, Job) == 0
    assert count(services, ImageAsset) == 0
    assert not services.storage.keys("storyboard-images")


def test_a_video_is_not_an_image_source(services: Services) -> None:
    board_id, scene_id = board_with_scene(services)
    sb.request_video(
        services,
        OWNER,
        prompt="Waves",
        entity_id=scene_id,
        options=sb.VideoOptions(duration_s=4),
        idempotency_key="v",
    )
    run_one(services)
    video = sb.get_storyboard(services, OWNER, board_id).entity(scene_id).video
    with pytest.raises(Invalid, match="not an image"):
        sb.request_edit(
            services, OWNER, prompt="x", source=sb.Source(asset_id=video.id), idempotency_key="e"
        )
    with pytest.raises(NotFound):  # someone else's asset is unknown
        sb.request_edit(
            services, OTHER, prompt="x", source=sb.Source(asset_id=video.id), idempotency_key="e"
        )


def test_an_uploaded_source_is_stored_with_the_request(services: Services) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (96, 64), (200, 40, 40)).save(buf, "PNG")
    gen = sb.request_video(
        services,
        OWNER,
        prompt="Make it move",
        source=sb.Source(data=buf.getvalue(), name="red.png"),
        options=sb.VideoOptions(duration_s=4),
        idempotency_key="u",
    )
    assert gen.mode == "image_to_video"
    with services.db() as db:
        source = db.get_one(ImageAsset, gen.source_asset_id)
    assert source.role == "input" and (source.width, source.height) == (96, 64)
    assert run_one(services).status == "completed"
    assert sb.get_generation(services, OWNER, gen.id).asset.mime_type == "video/mp4"


def test_budget_is_enforced(services: Services) -> None:
    services.settings.daily_budget_usd = 0.0
    from studio.providers.base import ImageRequest

    # The offline renderer is free: the budget never blocks it.
    gen = sb.request_image(services, OWNER, prompt="free", idempotency_key="free")
    assert gen.cost_estimate == 0.0
    # A priced provider is refused before anything is stored.
    from studio.providers.registry import ProviderStatus

    class Priced:
        name, label = "priced", "Priced"

        def models(self):  # type: ignore[no-untyped-def]
            from studio.providers.base import ModelInfo

            return [ModelInfo("m", "M")]

        def estimate_cost(self, model, request):  # type: ignore[no-untyped-def]
            assert isinstance(request, ImageRequest)
            return 0.5

    services.providers = [
        *services.providers,
        ProviderStatus("priced", "Priced", True, "", Priced()),
    ]
    with pytest.raises(LimitExceeded, match="budget"):
        sb.request_image(services, OWNER, prompt="x", provider="priced", idempotency_key="p")
    assert count(services, StoryboardGeneration) == 1


def test_deleting_an_entity_cancels_its_queued_work(services: Services) -> None:
    board_id, scene_id = board_with_scene(services)
    gen = sb.request_image(services, OWNER, prompt="x", entity_id=scene_id, idempotency_key="d")
    sb.delete_entity(services, OWNER, scene_id)
    assert services.queue.get(gen.job_id).status == "canceled"
    assert sb.get_storyboard(services, OWNER, board_id).entities == []
    assert count(services, StoryboardGeneration) == 0


# ---------------------------------------------------------------------------------------------
# The whole storyboard at once: exclusive per storyboard
# ---------------------------------------------------------------------------------------------


def _two_entity_board(services: Services) -> str:
    board_id, _ = board_with_scene(services)
    sb.add_entity(
        services,
        OWNER,
        board_id,
        kind="character",
        name="Keeper",
        description="Old lighthouse keeper, grey beard",
    )
    return board_id


def test_whole_storyboard_images(services: Services) -> None:
    board_id = _two_entity_board(services)
    job = sb.generate_storyboard_images(
        services, OWNER, board_id, style="watercolour", idempotency_key="all"
    )
    assert job.kind == "storyboard_image" and len(job.payload["generation_ids"]) == 2
    view = sb.get_storyboard(services, OWNER, board_id)
    assert [g.status for e in view.entities for g in e.active] == ["queued", "queued"]
    assert view.exclusive is not None and view.exclusive.active and view.exclusive.total == 2
    prompts = sorted(g.prompt for e in view.entities for g in e.generations)
    assert prompts == [
        "Character portrait: Keeper. Old lighthouse keeper, grey beard Style: watercolour",
        "Cliff at dusk. A hero on a cliff at sunset, wide shot Style: watercolour",
    ]
    assert run_one(services).status == "completed"
    view = sb.get_storyboard(services, OWNER, board_id)
    scene, keeper = view.scenes[0], view.characters[0]
    assert scene.image is not None and keeper.image is not None
    assert image_of(services, keeper.image).size == (768, 1024)  # characters are portraits
    assert not view.exclusive.active and view.exclusive.status == "completed"
    with services.db() as db:
        [ledger] = db.scalars(sa.select(UsageLedger)).all()
    assert ledger.job_id == job.id and ledger.units == 2.0

    # only_missing: everything has an image now
    with pytest.raises(Invalid, match="already has an image"):
        sb.generate_storyboard_images(
            services, OWNER, board_id, only_missing=True, idempotency_key="again"
        )


def test_second_request_is_in_progress_until_cleared(services: Services) -> None:
    board_id = _two_entity_board(services)
    first = sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="one")
    # A double click (same key) is the same job, not a conflict.
    assert (
        sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="one").id
        == first.id
    )
    with pytest.raises(InProgress, match="already in progress") as queued:
        sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="two")
    assert queued.value.job_id == first.id
    claimed = services.queue.claim("hung-worker")
    assert claimed.id == first.id
    with pytest.raises(InProgress) as running:
        sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="three")
    assert "running" in running.value.user_message
    # Other storyboards are not affected.
    other = sb.create_storyboard(services, OWNER, "Other")
    sb.add_entity(services, OWNER, other.id, kind="scene", name="Beach")
    sb.generate_storyboard_images(services, OWNER, other.id, idempotency_key="other")

    # The offer: clear the stuck job, then start again.
    assert sb.clear_storyboard_job(services, OWNER, board_id, first.id) == "cleared"
    cleared = services.queue.get(first.id)
    assert cleared.status == "failed" and cleared.lease_token is None
    view = sb.get_storyboard(services, OWNER, board_id)
    assert view.active == [] and all(e.last_failure("image") for e in view.entities)
    again = sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="four")
    assert again.id != first.id
    with pytest.raises(NotFound):
        sb.clear_storyboard_job(services, OTHER, board_id, again.id)
    assert sb.clear_storyboard_job(services, OWNER, board_id, again.id) == "canceled"


def test_stale_job_is_cleared_automatically(services: Services) -> None:
    board_id = _two_entity_board(services)
    first = sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="one")
    services.queue.claim("crashed-worker")
    stale = utcnow() - timedelta(seconds=services.settings.stale_job_seconds + 5)
    with services.db() as db:
        db.execute(sa.update(Job).where(Job.id == first.id).values(heartbeat_at=stale))
    second = sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="two")
    assert second.id != first.id
    old = services.queue.get(first.id)
    assert old.status == "failed" and "Cleared automatically" in old.last_error
    assert run_one(services).job_id == second.id
    # The crashed worker's late result is refused: its lease was revoked.
    from studio.jobs.queue import ClaimedJob, LeaseLost

    late = ClaimedJob(
        first.id,
        first.kind,
        first.payload,
        1,
        3,
        "stale-token",
        "crashed-worker",
        OWNER,
        first.concurrency_key,
        0,
        None,
    )
    with pytest.raises(LeaseLost):
        services.queue.finish(late)


def test_one_refused_entity_does_not_sink_the_others(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.providers.base import ProviderError
    from studio.providers.local import LocalProvider

    real = LocalProvider.generate_image

    def picky(self, model, request):  # type: ignore[no-untyped-def]
        if "Keeper" in request.prompt:
            raise ProviderError("safety", "Refused for safety reasons.")
        return real(self, model, request)

    monkeypatch.setattr(LocalProvider, "generate_image", picky)
    board_id = _two_entity_board(services)
    sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="all")
    outcome = run_one(services)
    assert outcome.status == "completed"
    view = sb.get_storyboard(services, OWNER, board_id)
    assert view.scenes[0].image is not None
    assert view.characters[0].image is None
    assert view.characters[0].last_failure("image").error == "Refused for safety reasons."


def test_a_retried_storyboard_job_skips_what_is_done(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from studio.providers.base import ProviderError
    from studio.providers.local import LocalProvider

    real = LocalProvider.generate_image
    calls: list[str] = []

    def flaky(self, model, request):  # type: ignore[no-untyped-def]
        calls.append(request.prompt)
        if "Keeper" in request.prompt and len(calls) == 2:
            raise ProviderError("temporary", "Service unavailable.")
        return real(self, model, request)

    monkeypatch.setattr(LocalProvider, "generate_image", flaky)
    board_id = _two_entity_board(services)
    job = sb.generate_storyboard_images(services, OWNER, board_id, idempotency_key="all")
    assert run_one(services).status == "pending"  # the temporary error retries the job
    with services.db() as db:
        db.execute(sa.update(Job).where(Job.id == job.id).values(run_after=utcnow()))
    assert run_one(services).status == "completed"
    assert [c.split(".")[0] for c in calls] == [
        "Cliff at dusk",
        "Character portrait: Keeper",
        "Character portrait: Keeper",
    ]
    view = sb.get_storyboard(services, OWNER, board_id)
    assert all(e.image is not None for e in view.entities)
    assert count(services, ImageAsset) == 2
