"""Delete with a trash, restore and purge (studio/lifecycle/trash.py, purge.py) on both
databases."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset, ImageGeneration, ImageSession, Job, Song, Storyboard
from db.types import utcnow
from studio import sessions as S
from studio import songs
from studio import storyboards as sb
from studio.errors import Conflict, Invalid, NotFound
from studio.jobs.worker import process_next
from studio.lifecycle import purge, trash
from studio.services import Services

OWNER = "alice"
OTHER = "bob"


def key() -> str:
    return str(uuid.uuid4())


def params(prompt: str, **kw: object) -> S.GenerationParams:
    kw.setdefault("width", 64)
    kw.setdefault("height", 64)
    return S.GenerationParams(prompt=prompt, **kw)  # type: ignore[arg-type]


def png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buf, "PNG")
    return buf.getvalue()


def run_all(services: Services) -> None:
    while process_next(services, "test") is not None:
        pass


UPLOAD = png((200, 30, 90))


def tree_session(services: Services, owner: str = OWNER, prompt: str = "a fox") -> list[str]:
    """A session of three finished steps: 1 (text), 2 (from an upload), 3 (from 2)."""
    session, step1 = S.create_session(services, owner, params(prompt), idempotency_key=key())
    run_all(services)
    step2 = S.iterate(
        services,
        owner,
        session.id,
        None,
        params(prompt + " in snow", strength=0.5),
        idempotency_key=key(),
        input_image=UPLOAD,
    )
    run_all(services)
    step3 = S.iterate(
        services, owner, session.id, step2.id, params(prompt + " at dusk"), idempotency_key=key()
    )
    run_all(services)
    return [session.id, step1.id, step2.id, step3.id]


def files(services: Services) -> set[tuple[str, str]]:
    bucket = services.settings.sessions_bucket
    return {(bucket, k) for k in services.storage.keys(bucket)}


def asset_files(services: Services, where: sa.ColumnElement[bool]) -> set[tuple[str, str]]:
    with services.db() as db:
        rows = db.execute(
            sa.select(ImageAsset.bucket, ImageAsset.key, ImageAsset.thumbnail_key).where(where)
        ).all()
    out = {(b, k) for b, k, _ in rows}
    out |= {(b, t) for b, _, t in rows if t}
    return out


def test_deleting_a_session_hides_it_and_restore_brings_the_whole_tree_back(
    services: Services,
) -> None:
    sid, *steps = tree_session(services)
    before = S.get_session(services, OWNER, sid)
    what = trash.what_goes(services, OWNER, "session", sid)
    assert (what.steps, what.images, what.videos) == (3, 3, 0)
    assert what.sentence() == "3 steps, 3 images"

    with pytest.raises(NotFound):  # another owner cannot delete it
        trash.delete(services, OTHER, "session", sid)
    trash.delete(services, OWNER, "session", sid)

    assert S.list_sessions(services, OWNER) == ([], 0)
    with pytest.raises(NotFound):
        S.get_session(services, OWNER, sid)
    with pytest.raises(NotFound):
        S.open_session(services, OWNER, sid)
    with pytest.raises(NotFound):  # its steps are gone with it
        S.duplicate_params(services, OWNER, steps[0])
    [item] = trash.list_trash(services, OWNER)
    assert (item.kind, item.id, item.title) == ("session", sid, "a fox")
    assert item.purge_at - item.deleted_at == timedelta(days=7)
    assert trash.list_trash(services, OTHER) == []
    with pytest.raises(NotFound):
        trash.restore(services, OTHER, "session", sid)

    assert trash.restore(services, OWNER, "session", sid) == "a fox"
    after = S.get_session(services, OWNER, sid)
    assert [g.id for g in after.generations] == [g.id for g in before.generations]
    assert after.children == before.children
    assert [len(g.outputs) for g in after.generations] == [1, 1, 1]
    assert trash.list_trash(services, OWNER) == []


def test_deleting_a_step_takes_its_descendants_and_restores_them(services: Services) -> None:
    sid, step1, step2, step3 = tree_session(services)
    what = trash.what_goes(services, OWNER, "step", step2)
    assert (what.steps, what.images) == (2, 2)
    trash.delete(services, OWNER, "step", step2)

    view = S.get_session(services, OWNER, sid)
    assert [g.id for g in view.generations] == [step1]
    page = S.open_session(services, OWNER, sid)
    assert page.step_count == 1 and [r.step.id for r in page.history] == [step1]
    assert view.session.thumbnail_asset_id == view.by_id[step1].output.id
    [item] = trash.list_trash(services, OWNER)
    assert (item.kind, item.id, item.session_id) == ("step", step2, sid)
    assert item.title == "Step 2 of a fox"

    trash.restore(services, OWNER, "step", step2)
    view = S.get_session(services, OWNER, sid)
    assert [g.id for g in view.generations] == [step1, step2, step3]
    assert view.children[step2] == [step3]


def test_deleting_cancels_the_work_still_queued(services: Services) -> None:
    session, step = S.create_session(services, OWNER, params("a cat"), idempotency_key=key())
    what = trash.delete(services, OWNER, "session", session.id)
    assert what.in_flight == 1 and "1 piece of work in progress will be canceled" in what.sentence()
    with services.db() as db:
        assert db.scalar(sa.select(Job.status).where(Job.id == step.job_id)) == "canceled"
    assert process_next(services, "test") is None


def test_purge_removes_rows_and_unshared_files_and_keeps_shared_ones(services: Services) -> None:
    sid_a, *_ = tree_session(services, prompt="a fox")
    sid_b, *_ = tree_session(services, OTHER, prompt="a heron")  # shares the upload
    a_files = asset_files(services, ImageAsset.session_id == sid_a)
    b_files = asset_files(services, ImageAsset.session_id == sid_b)
    shared = a_files & b_files
    assert shared  # the upload and its thumbnail, stored once
    assert a_files - shared

    trash.delete(services, OWNER, "session", sid_a)
    nothing = purge.purge(services)  # still within the trash period
    assert nothing.sessions == 0 and nothing.files == []
    assert a_files <= files(services)

    report = purge.purge(services, now=utcnow() + timedelta(days=8))
    assert report.sessions == 1
    assert set(report.files) == a_files - shared
    left = files(services)
    assert not (a_files - shared) & left
    assert b_files <= left  # the other session's files, the shared upload included
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).where(ImageSession.id == sid_a)) == 0
        assert (
            db.scalar(
                sa.select(sa.func.count())
                .select_from(ImageGeneration)
                .where(ImageGeneration.session_id == sid_a)
            )
            == 0
        )
        assert (
            db.scalar(
                sa.select(sa.func.count())
                .select_from(ImageAsset)
                .where(ImageAsset.session_id == sid_a)
            )
            == 0
        )
    assert trash.list_trash(services, OWNER) == []
    with pytest.raises(NotFound):
        trash.restore(services, OWNER, "session", sid_a)
    # the shared upload still opens
    S.get_session(services, OTHER, sid_b)


def test_purge_of_a_step_keeps_an_input_another_step_copied(services: Services) -> None:
    sid, step1, step2, step3 = tree_session(services)
    trash.delete(services, OWNER, "step", step3)
    report = purge.purge(services, now=utcnow() + timedelta(days=8))
    assert report.steps == 1
    view = S.get_session(services, OWNER, sid)
    assert [g.id for g in view.generations] == [step1, step2]
    for g in view.generations:  # every remaining file is still there
        for asset in g.outputs + g.inputs:
            assert services.storage.exists(asset.bucket, asset.key)


def test_a_song_and_a_storyboard_go_to_the_trash_and_come_back(services: Services) -> None:
    song = songs.create_song_draft(
        services, OWNER, title="Lanterns", tags="", text="First verse\n\nSecond verse",
        idempotency_key=key(),
    )  # fmt: skip
    board = sb.create_storyboard(services, OWNER, "The Lighthouse")
    scene = sb.add_entity(services, OWNER, board.id, kind="scene", name="Cliff")
    sb.request_image(services, OWNER, prompt="A cliff", entity_id=scene.id, idempotency_key="i")
    assert trash.what_goes(services, OWNER, "song", song.id).sentence().startswith("2 verses")
    assert trash.what_goes(services, OWNER, "storyboard", board.id).sentence() == (
        "1 scene or character, 0 images, 0 videos; 1 piece of work in progress will be canceled"
    )
    trash.delete(services, OWNER, "song", song.id)
    trash.delete(services, OWNER, "storyboard", board.id)
    assert songs.list_songs(services, OWNER) == []
    assert sb.list_storyboards(services, OWNER) == []
    with pytest.raises(NotFound):
        songs.get_song(services, OWNER, song.id)
    with pytest.raises(NotFound):
        sb.get_storyboard(services, OWNER, board.id)
    with services.db() as db:  # the verses' and the scene's queued jobs were canceled
        statuses = set(db.scalars(sa.select(Job.status).where(Job.kind != "noop")))
    assert statuses == {"canceled"}
    assert {i.kind for i in trash.list_trash(services, OWNER)} == {"song", "storyboard"}

    trash.restore(services, OWNER, "song", song.id)
    trash.restore(services, OWNER, "storyboard", board.id)
    assert [s.id for s in songs.list_songs(services, OWNER)] == [song.id]
    assert [b.id for b in sb.list_storyboards(services, OWNER)] == [board.id]

    trash.delete(services, OWNER, "storyboard", board.id)
    trash.delete(services, OWNER, "song", song.id)
    report = purge.purge(services, now=utcnow() + timedelta(days=8))
    assert (report.songs, report.storyboards) == (1, 1)
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Song)) == 0
        assert db.scalar(sa.select(sa.func.count()).select_from(Storyboard)) == 0


def test_restoring_a_step_of_a_deleted_session_asks_for_the_session(services: Services) -> None:
    sid, _step1, step2, _step3 = tree_session(services)
    trash.delete(services, OWNER, "step", step2)
    trash.delete(services, OWNER, "session", sid)
    assert [i.kind for i in trash.list_trash(services, OWNER)] == ["session"]
    with pytest.raises(Invalid, match="restore the session first"):
        trash.restore(services, OWNER, "step", step2)
    with pytest.raises(Invalid, match="can be deleted"):
        trash.delete(services, OWNER, "user", sid)


def test_submitting_a_form_again_never_returns_a_deleted_step(services: Services) -> None:
    session, _ = S.create_session(services, OWNER, params("a cat"), idempotency_key="same")
    trash.delete(services, OWNER, "session", session.id)
    with pytest.raises(Conflict, match="no longer exists"):
        S.create_session(services, OWNER, params("a cat"), idempotency_key="same")
