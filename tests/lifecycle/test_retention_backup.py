"""Retention (`studio prune`) and `studio backup` on both databases."""

from __future__ import annotations

import io
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset, ImageGeneration, Job
from db.types import utcnow
from studio import sessions as S
from studio.errors import Invalid
from studio.jobs.worker import process_next
from studio.lifecycle import backup, retention
from studio.services import Services

OWNER = "alice"


def params(prompt: str, **kw: object) -> S.GenerationParams:
    kw.setdefault("width", 64)
    kw.setdefault("height", 64)
    return S.GenerationParams(prompt=prompt, **kw)  # type: ignore[arg-type]


def png(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(buf, "PNG")
    return buf.getvalue()


def backdate(services: Services, days: int) -> None:
    then = utcnow() - timedelta(days=days)
    with services.db() as db:
        db.execute(sa.update(ImageGeneration).values(created_at=then))
        db.execute(sa.update(Job).values(completed_at=then, created_at=then))


def test_prune_drops_old_finished_jobs_and_the_inputs_of_failed_steps(
    services: Services,
) -> None:
    session, _ = S.create_session(services, OWNER, params("a fox"), idempotency_key="k1")
    while process_next(services, "t") is not None:
        pass
    upload = png((250, 10, 10))
    canceled = S.iterate(
        services, OWNER, session.id, None, params("a fox in snow", strength=0.5),
        idempotency_key="k2", input_image=upload,
    )  # fmt: skip
    S.cancel_generation(services, OWNER, canceled.id)
    with services.db() as db:
        [(bucket, key)] = db.execute(
            sa.select(ImageAsset.bucket, ImageAsset.key).where(
                ImageAsset.generation_id == canceled.id
            )
        ).all()
    assert services.storage.exists(bucket, key)

    young = retention.prune(services, older_than=timedelta(days=30))
    assert (young.jobs, young.inputs) == (0, 0)

    backdate(services, 40)
    report = retention.prune(services, older_than=timedelta(days=30))
    assert report.jobs == 2 and report.inputs == 1
    assert (bucket, key) in report.files and not services.storage.exists(bucket, key)
    view = S.get_session(services, OWNER, session.id)
    assert [g.status for g in view.generations] == ["succeeded", "canceled"]
    assert view.generations[0].output is not None  # the finished step keeps everything
    assert services.storage.exists(
        view.generations[0].output.bucket, view.generations[0].output.key
    )
    assert "Pruned 2 finished job(s), 1 input(s)" in report.sentence()


def test_backup_copies_the_sqlite_database_and_the_media(
    services: Services, tmp_path: Path
) -> None:
    if services.engine.url.get_backend_name() != "sqlite":
        with pytest.raises(Invalid, match="pg_dump"):
            backup.backup(services, tmp_path / "backup")
        return
    S.create_session(services, OWNER, params("a fox"), idempotency_key=str(uuid.uuid4()))
    while process_next(services, "t") is not None:
        pass
    target = tmp_path / "backup"
    lines = backup.backup(services, target)
    assert len(lines) == 2
    with sqlite3.connect(target / "studio.db") as conn:
        assert conn.execute("SELECT count(*) FROM image_generations").fetchone() == (1,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    media = Path(services.settings.storage_url)
    copied = {p.relative_to(target / "media") for p in (target / "media").rglob("*") if p.is_file()}
    assert copied == {p.relative_to(media) for p in media.rglob("*") if p.is_file()}
    with pytest.raises(Invalid, match="not empty"):
        backup.backup(services, target)
