"""Ownership everywhere: every public service function of the domain packages that acts for an
owner is called as Bob with Alice's ids. Those that take an id must raise NotFound (the same
answer as a missing id) and change nothing — not a row, not a stored file; those that only list
or create must show Bob none of Alice's work and leave it as it was.

The functions are found by introspection: a new one that is not in MATRIX fails
`test_every_owner_function_is_in_the_matrix`, so it cannot ship without this check."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from db.schema import Base
from studio import search, sessions, songs
from studio import storyboards as sb
from studio.errors import NotFound
from studio.jobs.worker import process_next
from studio.lifecycle import archive, exports, trash
from studio.lifecycle.reads import list_trash
from studio.services import Services
from studio.storyboards import batch

ALICE, BOB = "alice@https://issuer.example", "bob@https://issuer.example"
DOMAINS = (
    "studio.sessions",
    "studio.songs",
    "studio.storyboards",
    "studio.lifecycle",
    "studio.search",
)
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class World:
    """Alice's work: a session with a finished step and a queued one, a song, a storyboard
    with a scene whose image is made, a storyboard run waiting in the queue, and a session
    of hers in Recently deleted."""

    session: str
    step: str
    queued_step: str
    song: str
    verse: str
    board: str
    scene: str
    generation: str
    asset: str
    run_job: str
    trashed: str

    def ids(self) -> set[str]:
        return set(vars(self).values())


def _world(services: Services) -> World:
    params = sessions.GenerationParams(prompt="Alice's harbour at dawn")
    session, step = sessions.create_session(services, ALICE, params, idempotency_key="a-session")
    assert process_next(services, "w") is not None
    queued = sessions.iterate(
        services, ALICE, session.id, step.id, params, idempotency_key="a-iterate"
    )
    song = songs.create_song_draft(
        services,
        ALICE,
        title="Alice's song",
        tags="",
        text="First verse line\n\nSecond verse line",
        idempotency_key="a-song",
    )
    verse = songs.get_song(services, ALICE, song.id).verses[0].id
    board = sb.create_storyboard(services, ALICE, "Alice's board")
    scene = sb.add_entity(services, ALICE, board.id, kind="scene", name="Cliff", description="x")
    gen = sb.request_image(
        services, ALICE, prompt="A cliff", entity_id=scene.id, idempotency_key="a"
    )
    while process_next(services, "w") is not None:
        if sb.get_generation(services, ALICE, gen.id).asset is not None:
            break
    asset = sb.get_generation(services, ALICE, gen.id).asset
    assert asset is not None
    run = sb.generate_storyboard_images(services, ALICE, board.id, idempotency_key="a-run")
    gone, _ = sessions.create_session(
        services, ALICE, sessions.GenerationParams(prompt="Alice's draft"), idempotency_key="a-g"
    )
    trash.delete(services, ALICE, "session", gone.id)
    return World(
        session.id,
        step.id,
        queued.id,
        song.id,
        verse,
        board.id,
        scene.id,
        gen.id,
        asset.id,
        run.id,
        gone.id,
    )


# What each function is called with, as Bob with Alice's ids: (kind, call). "not_found": raises
# NotFound and changes nothing. "read": returns none of Alice's ids. "create": makes Bob's own
# row even with Alice's idempotency key, and Alice's rows stay as they were.
Call = Callable[[Services, str, World], Any]
MATRIX: dict[str, tuple[str, Call]] = {
    # sessions
    "cancel_generation": (
        "not_found",
        lambda s, o, w: sessions.cancel_generation(s, o, w.queued_step),
    ),
    "delete_generation": ("not_found", lambda s, o, w: sessions.delete_generation(s, o, w.step)),
    "download_bytes": ("not_found", lambda s, o, w: sessions.download_bytes(s, o, w.step)),
    "duplicate_params": ("not_found", lambda s, o, w: sessions.duplicate_params(s, o, w.step)),
    "rename_session": (
        "not_found",
        lambda s, o, w: sessions.rename_session(s, o, w.session, "Mine"),
    ),
    "iterate": (
        "not_found",
        lambda s, o, w: sessions.iterate(
            s, o, w.session, w.step, sessions.GenerationParams(prompt="x"), idempotency_key="b"
        ),
    ),
    "regenerate": (
        "not_found",
        lambda s, o, w: sessions.regenerate(s, o, w.step, idempotency_key="b"),
    ),
    "open_session": ("not_found", lambda s, o, w: sessions.open_session(s, o, w.session)),
    "get_session": ("not_found", lambda s, o, w: sessions.get_session(s, o, w.session)),
    "steps_in_flight": ("not_found", lambda s, o, w: sessions.steps_in_flight(s, o, w.session)),
    "list_sessions": ("read", lambda s, o, w: sessions.list_sessions(s, o)),
    "plan_replay": (
        "not_found",
        lambda s, o, w: sessions.plan_replay(s, o, w.step, provider="local", model="sketch"),
    ),
    "replay_branch": (
        "not_found",
        lambda s, o, w: sessions.replay_branch(
            s, o, w.step, provider="local", model="sketch", idempotency_key="b"
        ),
    ),
    "replayed_steps": ("not_found", lambda s, o, w: sessions.replayed_steps(s, o, w.step)),
    "cancel_replay": ("not_found", lambda s, o, w: sessions.cancel_replay(s, o, w.queued_step)),
    "requeue_or_skip": (
        "not_found",
        lambda s, o, w: sessions.requeue_or_skip(s, o, w.queued_step, skip=True),
    ),
    "create_session": (
        "create",
        lambda s, o, w: sessions.create_session(
            s, o, sessions.GenerationParams(prompt="Bob's"), idempotency_key="a-session"
        )[0],
    ),
    # songs
    "get_song": ("not_found", lambda s, o, w: songs.get_song(s, o, w.song)),
    "set_published": ("not_found", lambda s, o, w: songs.set_published(s, o, w.song, True)),
    "requeue_verse": ("not_found", lambda s, o, w: songs.requeue_verse(s, o, w.song, w.verse)),
    "skip_verse": ("not_found", lambda s, o, w: songs.skip_verse(s, o, w.song, w.verse)),
    "list_songs": ("read", lambda s, o, w: songs.list_songs(s, o)),
    "create_song_draft": (
        "create",
        lambda s, o, w: songs.create_song_draft(
            s, o, title="Bob's", tags="", text="One verse", idempotency_key="a-song"
        ),
    ),
    # storyboards
    "get_storyboard": ("not_found", lambda s, o, w: sb.get_storyboard(s, o, w.board)),
    "open_storyboard": ("not_found", lambda s, o, w: sb.open_storyboard(s, o, w.board)),
    "loose_requests": ("not_found", lambda s, o, w: sb.loose_requests(s, o, w.board)),
    "entity_history": ("not_found", lambda s, o, w: sb.entity_history(s, o, w.scene)),
    "rename_storyboard": ("not_found", lambda s, o, w: sb.rename_storyboard(s, o, w.board, "M")),
    "add_entity": (
        "not_found",
        lambda s, o, w: sb.add_entity(s, o, w.board, kind="scene", name="Mine"),
    ),
    "update_entity": ("not_found", lambda s, o, w: sb.update_entity(s, o, w.scene, name="Mine")),
    "delete_entity": ("not_found", lambda s, o, w: sb.delete_entity(s, o, w.scene)),
    "exclusive_job": ("not_found", lambda s, o, w: sb.exclusive_job(s, o, w.board)),
    "clear_storyboard_job": (
        "not_found",
        lambda s, o, w: sb.clear_storyboard_job(s, o, w.board, w.run_job),
    ),
    "generate_storyboard_images": (
        "not_found",
        lambda s, o, w: sb.generate_storyboard_images(s, o, w.board, idempotency_key="b"),
    ),
    "get_generation": ("not_found", lambda s, o, w: sb.get_generation(s, o, w.generation)),
    "request_image": (
        "not_found",
        lambda s, o, w: sb.request_image(s, o, prompt="x", entity_id=w.scene, idempotency_key="b"),
    ),
    "request_edit": (
        "not_found",
        lambda s, o, w: sb.request_edit(
            s, o, prompt="x", source=sb.Source(asset_id=w.asset), idempotency_key="b"
        ),
    ),
    "request_video": (
        "not_found",
        lambda s, o, w: sb.request_video(
            s, o, prompt="x", source=sb.Source(asset_id=w.asset), idempotency_key="b"
        ),
    ),
    "request_animate": (
        "not_found",
        lambda s, o, w: sb.request_animate(
            s, o, prompt="x", entity_id=w.scene, idempotency_key="b"
        ),
    ),
    "submit": (
        "not_found",
        lambda s, o, w: sb.submit(
            s, o, sb.MediaRequest("text_to_image", "x", storyboard_id=w.board), idempotency_key="b"
        ),
    ),
    "enqueue_images": ("batch", lambda s, o, w: _batch(s, o, w)),
    "generation_statuses": ("read", lambda s, o, w: sb.generation_statuses(s, o, [w.generation])),
    "has_unfiled": ("read", lambda s, o, w: sb.has_unfiled(s, o)),
    "list_unfiled": ("read", lambda s, o, w: sb.list_unfiled(s, o)),
    "list_storyboards": ("read", lambda s, o, w: sb.list_storyboards(s, o)),
    "entity_place": ("read", lambda s, o, w: sb.entity_place(s, o, w.scene)),
    # search
    "search": ("read", lambda s, o, w: search.search(s, o, "Alice")),
    "recent_prompts": ("read", lambda s, o, w: search.recent_prompts(s, o)),
    "create_storyboard": ("create", lambda s, o, w: sb.create_storyboard(s, o, "Bob's")),
    # lifecycle
    "what_goes": ("not_found", lambda s, o, w: trash.what_goes(s, o, "session", w.session)),
    "delete": ("not_found", lambda s, o, w: trash.delete(s, o, "song", w.song)),
    "restore": ("not_found", lambda s, o, w: trash.restore(s, o, "session", w.trashed)),
    "export_session": ("not_found", lambda s, o, w: archive.export_session(s, o, w.session)),
    "export_song": ("not_found", lambda s, o, w: exports.export_song(s, o, w.song)),
    "export_storyboard": ("not_found", lambda s, o, w: exports.export_storyboard(s, o, w.board)),
    "list_trash": ("read", lambda s, o, w: list_trash(s, o)),
    "import_session": ("create", lambda s, o, w: _import_alices_export(s, o, w)),
}


def _import_alices_export(services: Services, owner: str, world: World) -> Any:
    """Bob importing a zip of Alice's session (she sent it to him) makes a session of his own."""
    _, data = archive.export_session(services, ALICE, world.session)
    return archive.import_session(services, owner, data)


def _batch(services: Services, owner: str, world: World) -> batch.BatchReport:
    entries = batch.parse_entries(
        f'[{{"prompt": "x", "scene": "{world.scene}"}},'
        f' {{"prompt": "y", "storyboard": "{world.board}"}},'
        f' {{"prompt": "z", "source": "{world.asset}"}}]'
    )
    return batch.enqueue_images(
        services, owner, entries, open_source=lambda value: sb.Source(asset_id=value)
    )


def owner_functions() -> dict[str, Callable[..., Any]]:
    """Every public function of the domain packages that takes the Services and an owner."""
    found: dict[str, Callable[..., Any]] = {}
    for package in DOMAINS:
        root = importlib.import_module(package)
        modules = [root] + [
            importlib.import_module(m.name)
            for m in pkgutil.walk_packages(root.__path__, f"{package}.")
        ]
        for module in modules:
            for name, fn in vars(module).items():
                if name.startswith("_") or not inspect.isfunction(fn):
                    continue
                if fn.__module__ != module.__name__:
                    continue
                params = list(inspect.signature(fn).parameters)
                if params[:2] == ["services", "owner_id"]:
                    assert name not in found, f"two owner functions named {name}"
                    found[name] = fn
    return found


def test_every_owner_function_is_in_the_matrix() -> None:
    found = set(owner_functions())
    assert found - set(MATRIX) == set(), "add these to MATRIX (and check they are owner-safe)"
    assert set(MATRIX) - found == set(), "these are no longer owner functions: drop them"


def _rows(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    with services.db() as db:
        return {
            table.name: sorted(
                (tuple(repr(v) for v in row) for row in db.execute(sa.select(table)).all()),
            )
            for table in Base.metadata.sorted_tables
        }


def _files(services: Services) -> dict[str, int]:
    root = Path(services.settings.storage_url)
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def world(services: Services) -> World:
    return _world(services)


def _check(services: Services, world: World, name: str) -> None:
    kind, call = MATRIX[name]
    rows, files = _rows(services), _files(services)
    if kind == "not_found":
        with pytest.raises(NotFound):
            call(services, BOB, world)
        assert _rows(services) == rows, f"{name} changed rows for another owner"
    elif kind == "batch":
        report = call(services, BOB, world)
        assert not report.enqueued and not report.existing
        missing = World(**{k: str(uuid.uuid4()) for k in vars(world)})
        expected = call(services, BOB, missing).problems
        assert [p.message.replace(world.asset, "?") for p in report.problems] == [
            p.message.replace(missing.asset, "?") for p in expected
        ], "Alice's ids must read exactly like missing ones"
        assert _rows(services) == rows
    elif kind == "read":
        result = call(services, BOB, world)
        assert not (world.ids() & _mentioned(result)), f"{name} showed Bob Alice's work"
        assert result in (None, False, [], ([], 0))
        assert _rows(services) == rows
    else:  # create: Bob's own row, even with Alice's idempotency key
        made = call(services, BOB, world)
        assert made.id not in world.ids() and made.owner_id == BOB
        after = _rows(services)
        for table, before in rows.items():
            assert set(before) <= set(after[table]), f"{name} changed Alice's rows in {table}"
    assert _files(services) == files, f"{name} changed storage"


def test_bob_with_alices_ids_gets_not_found_and_changes_nothing(
    services: Services, world: World
) -> None:
    """One world per database, every function in turn (creates last: they add Bob's rows)."""
    order = sorted(MATRIX, key=lambda n: (MATRIX[n][0] == "create", n))
    failures = []
    for name in order:
        try:
            _check(services, world, name)
        except BaseException as err:  # pytest.raises' Failed is a BaseException
            failures.append(f"{name}: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
    assert failures == []


def _mentioned(value: Any) -> set[str]:
    """Every string id reachable in a result (dataclasses, rows, lists, tuples)."""
    out: set[str] = set()
    seen: set[int] = set()

    def walk(v: Any, depth: int) -> None:
        if depth > 6 or id(v) in seen:
            return
        seen.add(id(v))
        if isinstance(v, str):
            out.add(v)
        elif isinstance(v, list | tuple | set):
            for item in v:
                walk(item, depth + 1)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item, depth + 1)
        elif hasattr(v, "__dict__"):
            for item in vars(v).values():
                walk(item, depth + 1)

    walk(value, 0)
    return out


def test_alice_still_sees_all_her_work_after_bobs_attempts(
    services: Services, world: World
) -> None:
    for name in sorted(MATRIX):
        kind, call = MATRIX[name]
        try:
            call(services, BOB, world)
        except NotFound:
            pass
    assert sessions.get_session(services, ALICE, world.session).by_id[world.step]
    assert songs.get_song(services, ALICE, world.song).title == "Alice's song"
    assert sb.get_storyboard(services, ALICE, world.board).entity(world.scene).name == "Cliff"
    assert sb.exclusive_job(services, ALICE, world.board) is not None


def test_bob_mixing_his_own_ids_with_alices_gets_not_found(
    services: Services, world: World
) -> None:
    """Bob's own session, song or storyboard with one of Alice's ids inside: still not found,
    nothing changed, and nothing of hers shown."""
    params = sessions.GenerationParams(prompt="Bob's")
    bob_session, _ = sessions.create_session(services, BOB, params, idempotency_key="b-s")
    bob_song = songs.create_song_draft(
        services, BOB, title="Bob's", tags="", text="One verse", idempotency_key="b-song"
    )
    bob_board = sb.create_storyboard(services, BOB, "Bob's board")
    mixed: dict[str, Call] = {
        "iterate from her step": lambda s, o, w: sessions.iterate(
            s, o, bob_session.id, w.step, params, idempotency_key="m"
        ),
        "her verse in his song": lambda s, o, w: songs.requeue_verse(s, o, bob_song.id, w.verse),
        "skip her verse in his song": lambda s, o, w: songs.skip_verse(s, o, bob_song.id, w.verse),
        "her scene in his board": lambda s, o, w: sb.request_image(
            s, o, prompt="x", storyboard_id=bob_board.id, entity_id=w.scene, idempotency_key="m"
        ),
        "her asset in his board": lambda s, o, w: sb.request_edit(
            s,
            o,
            prompt="x",
            storyboard_id=bob_board.id,
            source=sb.Source(asset_id=w.asset),
            idempotency_key="m2",
        ),
        "her run on his board": lambda s, o, w: sb.clear_storyboard_job(
            s, o, bob_board.id, w.run_job
        ),
    }
    failures = []
    for name, call in mixed.items():
        rows, files = _rows(services), _files(services)
        try:
            with pytest.raises(NotFound):
                call(services, BOB, world)
            assert _rows(services) == rows and _files(services) == files
        except BaseException as err:
            failures.append(f"{name}: {type(err).__name__}: {str(err).splitlines()[0][:200]}")
    page = sessions.open_session(services, BOB, bob_session.id, selected_id=world.step)
    if world.ids() & _mentioned(page):
        failures.append("open_session showed Alice's step selected in Bob's session")
    assert failures == []
