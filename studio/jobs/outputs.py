"""What every generating job does with its output: store the provider's bytes
with a thumbnail (a poster frame for videos) before any row is written, then, in the one
transaction that records the job's own outputs, the asset row, the usage-ledger row and the
job's completion, so all of it commits together or not at all.

The jobs (studio/sessions/job.py, studio/songs/job.py, studio/storyboards/jobs.py) keep what
is theirs: which bucket, which rows link to the asset, what the result says.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from db.schema import ImageAsset, UsageLedger
from studio import assets, imaging
from studio.jobs.kinds import JobContext
from studio.providers.base import ImageResult, VideoResult

if TYPE_CHECKING:
    from studio.services import Services

# Provider outputs are ours to store, not uploads: only the byte limit is relaxed for them.
MAX_OUTPUT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class StoredOutput:
    """A provider's image or video, checked and stored with its thumbnail; no row yet."""

    prepared: assets.PreparedImage | assets.PreparedVideo
    storage_name: str
    bucket: str
    key: str
    thumbnail_key: str | None

    def row(
        self, owner_id: str, *, session_id: str | None = None, generation_id: str | None = None
    ) -> ImageAsset:
        """The asset row (role "output", or "video"); the caller adds it."""
        video = isinstance(self.prepared, assets.PreparedVideo)
        return assets.asset_row(
            self.prepared,
            key=self.key,
            thumbnail_key=self.thumbnail_key,
            owner_id=owner_id,
            role="video" if video else "output",
            bucket=self.bucket,
            storage_name=self.storage_name,
            session_id=session_id,
            generation_id=generation_id,
        )


def store_image(services: Services, data: bytes, bucket: str) -> StoredOutput:
    """Uploading: decode, transcode and thumbnail a provider's image, then store both."""
    limits = imaging.ImageLimits.from_settings(services.settings)
    limits = dataclasses.replace(limits, max_bytes=max(limits.max_bytes, MAX_OUTPUT_BYTES))
    prepared = assets.prepare_image(data, limits)
    key, thumb = assets.store_prepared(services.storage, prepared, bucket)
    return StoredOutput(prepared, services.storage.name, bucket, key, thumb)


def store_video(
    services: Services, data: bytes, mime_type: str | None, bucket: str
) -> StoredOutput:
    """Uploading: check a provider's video and take its poster frame, then store both."""
    prepared = assets.prepare_video(data, mime_type)
    key, poster = assets.store_prepared(services.storage, prepared, bucket)
    return StoredOutput(prepared, services.storage.name, bucket, key, poster)


@dataclass(frozen=True)
class Charge:
    """What a job's provider work cost: its usage-ledger row."""

    owner_id: str
    provider: str
    model: str
    units: float
    estimate: float | None
    actual: float | None
    usage: dict[str, Any]

    @classmethod
    def of(
        cls,
        result: ImageResult | VideoResult,
        *,
        owner_id: str,
        provider: str,
        model: str,
        units: float,
        estimate: float | None,
    ) -> Charge:
        """The charge for one provider call: its actual cost and usage as the result says."""
        usage = dict(result.usage or {})
        return cls(owner_id, provider, model, units, estimate, result.cost_actual, usage)


def settle(ctx: JobContext, db: Session, outcome: dict[str, Any], charge: Charge) -> dict[str, Any]:
    """The end of the job's output transaction `db`: the ledger row, then the job's completion
    with `outcome` and the actual cost. Returns `outcome`."""
    db.add(
        UsageLedger(
            job_id=ctx.job.id,
            owner_id=charge.owner_id,
            kind=ctx.job.kind,
            provider=charge.provider,
            model=charge.model,
            units=charge.units,
            cost_estimate=charge.estimate,
            cost_actual=charge.actual,
            usage=charge.usage,
        )
    )
    db.flush()
    ctx.complete(db=db, result=outcome, cost_actual=charge.actual)
    return outcome
