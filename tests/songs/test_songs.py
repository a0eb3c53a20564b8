"""Song drafts (studio/songs/) on both databases: splitting, tags, validation, the jobs a
draft enqueues, publishing, ownership, the songs table, and strict per-song ordering under
four concurrent workers."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict

import pytest
import sqlalchemy as sa

from db.schema import Job, Song, SongGenerationVerseArtifact, SongVerse
from studio import songs
from studio.errors import Invalid, NotFound
from studio.jobs.worker import process_next
from studio.services import Services
from studio.songs import create as song_create
from tests.helpers.song_provider import ScriptedProvider, use_provider

OWNER = "alice"


def key() -> str:
    return str(uuid.uuid4())


def draft(services: Services, text: str, title: str = "Lanterns", tags: str = "", **kw: str):  # type: ignore[no-untyped-def]
    owner = kw.pop("owner", OWNER)
    return songs.create_song_draft(
        services,
        owner,
        title=title,
        tags=tags,
        text=text,
        idempotency_key=kw.pop("idempotency_key", key()),
    )


def count(services: Services, model: type) -> int:
    with services.db() as db:
        return int(db.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def song_jobs(services: Services, song_id: str) -> list[Job]:
    with services.db() as db:
        return list(
            db.scalars(
                sa.select(Job)
                .where(Job.concurrency_key == songs.song_key(song_id))
                .order_by(Job.sequence)
            ).all()
        )


# ---------------------------------------------------------------------------------------------
# Verses and tags (pure functions)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("one line", ["one line"]),
        ("a\nb\n\nc\nd", ["a\nb", "c\nd"]),
        ("a\r\nb\r\n\r\nc", ["a\nb", "c"]),  # Windows line endings
        ("a\rb\r\rc", ["a\nb", "c"]),  # old Mac line endings
        ("a\n \n\t\n\u00a0\n  \nb", ["a", "b"]),  # a run of whitespace-only lines
        ("a\r\n \t \r\n\r\n\r\nb", ["a", "b"]),
        ("\n\n   first  \n\n\n", ["first"]),  # surrounding blank lines and spaces trimmed
        ("  x  \n  y  \n\n", ["x\n  y"]),  # inner indentation kept, trailing spaces dropped
        ("", []),
        ("   \n\t\n  ", []),  # no empty verses
    ],
)
def test_split_verses(text: str, expected: list[str]) -> None:
    assert songs.split_verses(text) == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (" Folk, rock ,FOLK, , #Night,night ", ["folk", "rock", "night"]),
        ("road   trip,Road Trip", ["road trip"]),  # inner whitespace collapsed before dedupe
        ("b\na,b", ["b", "a"]),  # new lines separate too, order kept
        (["Jazz", " jazz ", "Blues"], ["jazz", "blues"]),
        ("", []),
        (None, []),
        (",,,", []),
    ],
)
def test_normalize_tags(tags: object, expected: list[str]) -> None:
    assert songs.normalize_tags(tags) == expected  # type: ignore[arg-type]


def test_tag_limits() -> None:
    ok = [f"t{i}" for i in range(songs.MAX_TAGS)]
    assert songs.normalize_tags(ok + ["T0"]) == ok  # a duplicate does not count
    with pytest.raises(Invalid, match=f"the limit is {songs.MAX_TAGS}"):
        songs.normalize_tags(ok + ["one more"])
    with pytest.raises(Invalid, match="at most 40"):
        songs.normalize_tags("x" * (songs.MAX_TAG_CHARS + 1))
    assert songs.normalize_tags("x" * songs.MAX_TAG_CHARS) == ["x" * songs.MAX_TAG_CHARS]


# ---------------------------------------------------------------------------------------------
# Drafts and their jobs
# ---------------------------------------------------------------------------------------------


def test_draft_stores_verses_and_one_job_per_verse_in_order(services: Services) -> None:
    text = "First verse\r\nline two\r\n\r\n \r\nSecond verse\n\n\n\nThird verse  \n"
    song = draft(services, text, title="  Lanterns   on the River ", tags="Folk, night, folk")
    assert song.title == "Lanterns on the River" and song.tags == ["folk", "night"]
    assert song.published is False and song.owner_id == OWNER

    with services.db() as db:
        verses = db.scalars(
            sa.select(SongVerse)
            .where(SongVerse.song_id == song.id)
            .order_by(SongVerse.sequence_number)
        ).all()
    assert [(v.sequence_number, v.text) for v in verses] == [
        (1, "First verse\nline two"),
        (2, "Second verse"),
        (3, "Third verse"),
    ]
    jobs = song_jobs(services, song.id)
    assert [j.sequence for j in jobs] == [1, 2, 3]
    assert [j.kind for j in jobs] == ["verse_illustration"] * 3
    assert all(j.status == "pending" and j.ordered and j.owner_id == OWNER for j in jobs)
    assert [j.payload["verse_id"] for j in jobs] == [v.id for v in verses]
    assert [j.label for j in jobs] == [f"Verse {n} · Lanterns on the River" for n in (1, 2, 3)]
    # Enqueued in verse order; only verse 1 is claimable, the others wait behind it.
    assert [j.created_at for j in jobs] == sorted(j.created_at for j in jobs)
    assert [j.held for j in jobs] == [False, True, True]
    claimed = services.queue.claim("w")
    assert claimed is not None and claimed.sequence == 1
    assert services.queue.claim("w2") is None


def test_the_same_submission_makes_one_song(services: Services) -> None:
    first = draft(services, "a\n\nb", idempotency_key="form-1")
    again = draft(services, "a\n\nb\n\nc", title="Other", idempotency_key="form-1")
    assert again.id == first.id
    assert count(services, Song) == 1 and count(services, SongVerse) == 2
    assert count(services, Job) == 2
    # Keys are per owner: someone else's form with the same key is their own song.
    other = draft(services, "a", owner="bob", idempotency_key="form-1")
    assert other.id != first.id and count(services, Song) == 2


def test_a_concurrent_duplicate_submission_returns_the_first_song(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submissions of one form racing: the loser's song is rolled back."""
    first = draft(services, "a\n\nb", idempotency_key="race")
    real = song_create._replay
    calls = {"n": 0}

    def late_replay(owner_id, form_key):  # type: ignore[no-untyped-def]
        find = real(owner_id, form_key)

        def finder(db):  # type: ignore[no-untyped-def]
            calls["n"] += 1  # the first look misses: the twin has not committed yet
            return None if calls["n"] == 1 else find(db)

        return finder

    monkeypatch.setattr(song_create, "_replay", late_replay)
    again = draft(services, "a\n\nb", idempotency_key="race")
    assert again.id == first.id and calls["n"] == 2
    assert count(services, Song) == 1 and count(services, SongVerse) == 2
    assert count(services, Job) == 2


@pytest.mark.parametrize(
    ("title", "tags", "text", "message"),
    [
        ("", "", "a verse", "Give the song a title"),
        ("   ", "", "a verse", "Give the song a title"),
        ("Song", "", "", "Paste the song text"),
        ("Song", "", "\n \r\n\t\n", "Paste the song text"),
        ("Song", "", "\n\n".join(["la"] * 10_000), "10,000 verses; the limit is 200"),
        ("Song", "", "x" * (1024 * 1024), "Verse 1 is 1,048,576 characters"),
        ("Song", "", "ok\n\n" + "y" * 2001, "Verse 2 is 2,001 characters"),
        ("Song", "", "bell \x07 here", "control character (U+0007) on line 1"),
        ("Song", "", "a\n\nnul\x00", "control character (U+0000) on line 3"),
        ("Song", "", "esc\x1b[31m", "U+001B"),
        ("Bad\x00title", "", "a", "The title contains a control character"),
        ("T" * 201, "", "a", "The title is 201 characters"),
        ("Song", "ok, b\x01ad", "a", "The tag contains a control character (U+0001)"),
        ("Song", ",".join(f"t{i}" for i in range(21)), "a", "21 tags; the limit is 20"),
        ("Song", "", "z" * (songs.MAX_TEXT_CHARS + 1), "the limit is 2,000,000"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    services: Services, title: str, tags: str, text: str, message: str
) -> None:
    with pytest.raises(Invalid) as err:
        draft(services, text, title=title, tags=tags)
    assert message in err.value.user_message
    assert count(services, Song) == 0 and count(services, SongVerse) == 0
    assert count(services, Job) == 0


def test_lone_surrogates_are_refused(services: Services) -> None:
    with pytest.raises(Invalid, match="not valid text"):
        draft(services, "broken \ud800 text")
    assert count(services, Song) == 0


def test_publish_and_unpublish(services: Services) -> None:
    song = draft(services, "a\n\nb")
    assert songs.set_published(services, OWNER, song.id, True).published is True
    assert songs.get_song(services, OWNER, song.id).published is True
    assert [r.published for r in songs.list_songs(services, OWNER)] == [True]
    assert songs.set_published(services, OWNER, song.id, False).published is False
    assert songs.get_song(services, OWNER, song.id).published is False


def test_another_owner_cannot_see_or_change_a_song(services: Services) -> None:
    song = draft(services, "a\n\nb")
    assert songs.list_songs(services, "mallory") == []
    with pytest.raises(NotFound, match="does not exist or is not yours"):
        songs.get_song(services, "mallory", song.id)
    with pytest.raises(NotFound):
        songs.set_published(services, "mallory", song.id, True)
    verse_id = songs.get_song(services, OWNER, song.id).verses[0].id
    with pytest.raises(NotFound):
        songs.skip_verse(services, "mallory", song.id, verse_id)
    assert songs.get_song(services, OWNER, song.id).published is False
    assert {j.status for j in song_jobs(services, song.id)} == {"pending"}


def test_songs_table_counts_and_what_each_song_waits_on(services: Services) -> None:
    scripted = use_provider(
        services,
        ScriptedProvider(
            fail_when=lambda r: "refused by the model" if "S1V2" in r.prompt else None
        ),
    )
    first = draft(services, "S1V1\n\nS1V2\n\nS1V3\n\nS1V4", title="Blocked", tags="a, b")
    second = draft(services, "S2V1\n\nS2V2", title="Queued")
    assert process_next(services, "w", kinds=["verse_illustration"]).status == "completed"
    assert process_next(services, "w", kinds=["verse_illustration"]).status == "failed"
    assert [c.marker for c in scripted.calls] == ["S1V1", "S1V2"]

    rows = {r.title: r for r in songs.list_songs(services, OWNER)}
    blocked, queued = rows["Blocked"], rows["Queued"]
    assert rows["Blocked"].tags == ["a", "b"]
    p = blocked.progress
    assert (p.verse_count, p.illustrated, p.queued, p.running, p.failed) == (4, 1, 2, 0, 1)
    assert p.blocked and p.head is not None and p.head.verse_number == 2
    assert p.waiting_on == "verse 2 failed, verses 3–4 wait: requeue or skip it"
    assert blocked.cover is not None  # verse 1's illustration
    q = queued.progress
    assert (q.verse_count, q.illustrated, q.queued, q.failed) == (2, 0, 2, 0)
    assert q.waiting_on == "verse 1 waits for a free worker" and queued.cover is None

    view = songs.get_song(services, OWNER, first.id)
    assert [v.state.status for v in view.verses] == ["succeeded", "failed", "queued", "queued"]
    assert view.verses[1].state.error == "refused by the model"
    assert view.verses[2].waiting_on == "waits for verse 2 (failed)"
    assert second.id in {r.id for r in rows.values()}


# ---------------------------------------------------------------------------------------------
# Strict per-song ordering with four workers
# ---------------------------------------------------------------------------------------------


def test_four_workers_three_songs_strict_order_per_song_parallel_across_songs(
    services: Services,
) -> None:
    scripted = use_provider(services, ScriptedProvider(delay=0.2))
    made = [
        draft(services, "\n\n".join(f"S{s}V{v} la la" for v in range(1, 6)), title=f"Song {s}")
        for s in range(1, 4)
    ]
    errors: list[BaseException] = []
    deadline = time.monotonic() + 120

    def open_jobs() -> int:
        with services.db() as db:
            return int(
                db.scalar(
                    sa.select(sa.func.count())
                    .select_from(Job)
                    .where(Job.status.in_(("pending", "running")))
                )
                or 0
            )

    def worker(index: int) -> None:
        try:
            while time.monotonic() < deadline:
                outcome = process_next(services, f"w{index}", reap=False)
                if outcome is None:
                    if open_jobs() == 0:
                        return
                    time.sleep(0.02)
                    continue
                assert outcome.status == "completed", outcome
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(scripted.calls) == 15

    by_song: dict[str, list] = defaultdict(list)
    for call in scripted.calls:
        by_song[call.marker[:2]].append(call)  # type: ignore[index]
    for s, calls in by_song.items():
        calls.sort(key=lambda c: c.started)
        assert [c.marker for c in calls] == [f"{s}V{v}" for v in range(1, 6)]
        for before, after in zip(calls, calls[1:], strict=False):
            assert before.finished <= after.started, f"{s}: verses overlapped"
    # Different songs ran at the same time.
    overlaps = [
        (a.marker, b.marker)
        for a in scripted.calls
        for b in scripted.calls
        if a.marker[:2] != b.marker[:2] and a.started < b.finished and b.started < a.finished  # type: ignore[index]
    ]
    assert overlaps, "no two songs were ever illustrated at the same time"

    for song in made:
        jobs = song_jobs(services, song.id)
        assert [j.status for j in jobs] == ["completed"] * 5
        assert all(j.attempts == 1 for j in jobs)  # each verse ran exactly once
        for before, after in zip(jobs, jobs[1:], strict=False):
            assert before.completed_at <= after.started_at
        view = songs.get_song(services, OWNER, song.id)
        assert all(v.illustration is not None for v in view.verses)
    assert count(services, SongGenerationVerseArtifact) == 15
