"""Garbage collection of storage: files no row references, and rows whose file is missing.

A worker stores an output's bytes before the transaction that adds its row; killed in between,
it leaves a file no row references. With the offline renderer the retry rewrites the same bytes
(files are content-addressed), but a real provider returns different bytes each time, so such
orphans accumulate. `studio gc` lists them, on local disk or S3, and with `--delete` removes
those older than an hour (a younger file may belong to work in flight whose row is not
committed yet). It also lists rows whose file is missing (nothing repairs those automatically:
restore the file from a backup, or delete the step).

Trashed rows still reference their files: those go with the purge (purge.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from db.schema import ImageAsset, SongGenerationVerseArtifact
from db.types import utcnow
from studio.lifecycle.purge import delete_files, referenced
from studio.storage import StoredFile

if TYPE_CHECKING:
    from studio.services import Services

MIN_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class Orphan:
    bucket: str
    file: StoredFile


@dataclass(frozen=True)
class MissingFile:
    asset_id: str
    bucket: str
    key: str
    what: str  # "file" or "thumbnail"


@dataclass
class GcReport:
    orphans: list[Orphan] = field(default_factory=list)
    missing: list[MissingFile] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    kept_young: int = 0  # orphans not deleted because they are younger than the minimum age

    @property
    def found(self) -> bool:
        return bool(self.orphans or self.missing)


def _buckets(services: Services) -> set[str]:
    s = services.settings
    names = {
        s.sessions_bucket,
        s.verse_illustrations_bucket,
        s.storyboard_images_bucket,
        s.storyboard_videos_bucket,
    }
    with services.db() as db:
        names.update(db.scalars(sa.select(ImageAsset.bucket).distinct()))
    return names


def collect(
    services: Services,
    *,
    delete: bool = False,
    min_age: timedelta = MIN_AGE,
    now: datetime | None = None,
) -> GcReport:
    """Compare every bucket's files with the rows; with `delete`, remove the orphans older than
    `min_age` (each checked again against the rows just before it goes)."""
    now = now or utcnow()
    report = GcReport()
    listed: dict[tuple[str, str], StoredFile] = {}
    for bucket in sorted(_buckets(services)):
        for stored in services.storage.listing(bucket):
            listed[(bucket, stored.key)] = stored
    used: set[tuple[str, str]] = set()
    with services.db() as db:  # one pass over the rows, however many files there are
        for asset_id, bucket, key, thumb in db.execute(
            sa.select(ImageAsset.id, ImageAsset.bucket, ImageAsset.key, ImageAsset.thumbnail_key)
        ).all():
            used.add((bucket, key))
            if thumb:
                used.add((bucket, thumb))
            if (bucket, key) not in listed:
                report.missing.append(MissingFile(asset_id, bucket, key, "file"))
            if thumb and (bucket, thumb) not in listed:
                report.missing.append(MissingFile(asset_id, bucket, thumb, "thumbnail"))
        artifact_thumbs = set(
            db.scalars(
                sa.select(SongGenerationVerseArtifact.thumbnail_key).where(
                    SongGenerationVerseArtifact.thumbnail_key.isnot(None)
                )
            )
        )
    report.orphans = [
        Orphan(bucket, stored)
        for (bucket, key), stored in sorted(listed.items())
        if (bucket, key) not in used and key not in artifact_thumbs
    ]
    if delete:
        old = [o for o in report.orphans if now - o.file.modified >= min_age]
        report.kept_young = len(report.orphans) - len(old)
        candidates = {(o.bucket, o.file.key) for o in old}
        with services.db() as db:  # a row may have arrived since the listing
            candidates -= referenced(db, candidates)
        report.deleted = delete_files(services.storage, candidates)
    return report
