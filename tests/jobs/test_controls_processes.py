"""Pauses and caps held by 4 worker processes on one database (both databases): a paused kind
is never claimed while other kinds go on, a pause set from one process holds in the others, and
with a cap of 1 on videos no two videos ever run at once while images go on."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.schema import Job
from studio.jobs.queue import JobQueue
from tests.helpers.ledger_worker import LEDGER
from tests.jobs.test_worker_processes import ROOT, _env, _Output, _spawn, _wait

pytestmark = pytest.mark.slow


def _studio(env: dict[str, str], *args: str) -> str:
    """Run the `studio` command in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", "from studio.cli import main; raise SystemExit(main())", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _enqueue_mix(engine: sa.Engine, videos: int, images: int, **payload: float) -> None:
    queue = JobQueue(engine)
    with engine.begin() as conn:
        for i in range(max(videos, images)):
            if i < videos:
                queue.enqueue("ledger_video", {"sleep": payload.get("video", 0)}, db=conn)
            for _ in range(images // max(videos, 1) if i < videos else 0):
                queue.enqueue("ledger_image", {"sleep": payload.get("image", 0)}, db=conn)


def _jobs(engine: sa.Engine) -> list[sa.Row[tuple[str, str, int]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(Job.kind, Job.status, Job.attempts)).all())


def test_a_paused_kind_is_never_claimed_by_4_processes_while_others_go_on(
    db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    LEDGER.create(engine, checkfirst=True)
    env = _env(db_url, tmp_path)
    _studio(env, "queue", "pause", "--kind", "ledger_video", "--by", "ops")  # another process
    _enqueue_mix(engine, videos=6, images=60)
    outs = _wait([_spawn(f"w{i}", 2, env) for i in range(4)])  # each exits when idle
    with engine.connect() as conn:
        ran = conn.execute(sa.select(LEDGER.c.kind, LEDGER.c.worker)).all()
    assert {r.kind for r in ran} == {"ledger_image"}, "no paused video was claimed"
    assert len(ran) == 60
    assert {(j.kind, j.status, j.attempts) for j in _jobs(engine)} == {
        ("ledger_image", "completed", 1),
        ("ledger_video", "pending", 0),
    }
    LEDGER.drop(engine)
    [line] = JobQueue(engine).pause_lines()
    assert line.startswith("Paused: kind ledger_video, since") and "by ops" in line, outs


def test_cap_of_one_video_holds_across_4_processes_while_images_go_on(
    db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    LEDGER.create(engine, checkfirst=True)
    JobQueue(engine).set_cap("kind", "ledger_video", 1, by="ops")
    n_videos, n_images = 6, 60
    _enqueue_mix(engine, videos=n_videos, images=n_images, video=0.2, image=0.01)
    env = _env(db_url, tmp_path)
    workers = [_Output(_spawn(f"w{i}", 2, env, "--forever")) for i in range(4)]
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if all(j.status == "completed" for j in _jobs(engine)):
                break
            time.sleep(0.2)
    finally:
        outputs = [w.stop() for w in workers]
    for out in outputs:
        assert "Traceback" not in out and "database is locked" not in out, out
    with engine.connect() as conn:
        ran = conn.execute(
            sa.select(LEDGER.c.kind, LEDGER.c.started, LEDGER.c.finished).order_by(LEDGER.c.started)
        ).all()
    LEDGER.drop(engine)
    assert {(j.status, j.attempts) for j in _jobs(engine)} == {("completed", 1)}, (
        "every job ran once; waiting for a slot spent no attempt"
    )
    videos = [r for r in ran if r.kind == "ledger_video"]
    images = [r for r in ran if r.kind == "ledger_image"]
    assert len(videos) == n_videos and len(images) == n_images
    for before, after in zip(videos, videos[1:], strict=False):
        assert before.finished <= after.started, "two videos ran at once"
    during_videos = [i for i in images if any(v.started <= i.started <= v.finished for v in videos)]
    assert during_videos, "images went on while a video ran"
