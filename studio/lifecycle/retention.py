"""Retention (`STUDIO_RETENTION_DAYS`, off by default; `studio prune`): finished jobs older than
that are deleted (the steps they made keep their outcome: a step reads its state from what it
produced once its job is gone), and so are the inputs and masks of steps that failed or were
canceled that long ago: they will never be used again, and an upload can be large. The step
itself stays in its session's history, without its input. Files go only when no row references
them any more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from db.schema import ImageAsset, ImageGeneration, Job
from db.types import utcnow
from studio.lifecycle.purge import FileRef, delete_files, referenced

if TYPE_CHECKING:
    from studio.services import Services


@dataclass
class PruneReport:
    days: float
    jobs: int = 0
    inputs: int = 0
    files: list[FileRef] = field(default_factory=list)

    def sentence(self) -> str:
        return (
            f"Pruned {self.jobs} finished job(s), {self.inputs} input(s) of failed or canceled "
            f"steps and {len(self.files)} file(s) no row used any more, older than "
            f"{self.days:g} day(s)."
        )


def prune(services: Services, *, older_than: timedelta) -> PruneReport:
    cutoff = utcnow() - older_than
    report = PruneReport(days=older_than.total_seconds() / 86400)
    failed = (
        sa.select(ImageGeneration.id)
        .outerjoin(Job, Job.id == ImageGeneration.job_id)
        .where(
            ImageGeneration.completed_at.is_(None),
            ImageGeneration.created_at < cutoff,
            sa.or_(Job.id.is_(None), Job.status.in_(("failed", "canceled"))),
        )
    )
    with services.db() as db:
        rows = db.execute(
            sa.select(
                ImageAsset.id, ImageAsset.bucket, ImageAsset.key, ImageAsset.thumbnail_key
            ).where(ImageAsset.role.in_(("input", "mask")), ImageAsset.generation_id.in_(failed))
        ).all()
        files: set[FileRef] = set()
        for _id, bucket, key, thumb in rows:
            files.add((bucket, key))
            if thumb:
                files.add((bucket, thumb))
        if rows:
            db.execute(sa.delete(ImageAsset).where(ImageAsset.id.in_([r.id for r in rows])))
        report.inputs = len(rows)
        unused = files - referenced(db, files)
    report.files = delete_files(services.storage, unused)
    report.jobs = services.queue.prune(older_than=older_than)
    return report
