"""Large sessions and storyboards written straight into the database (no worker, no provider):
what page tests and benchmarks read. Every step or request shares one stored image."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa
from PIL import Image

from db.schema import (
    ImageAsset,
    ImageGeneration,
    ImageSession,
    Storyboard,
    StoryboardEntity,
    StoryboardGeneration,
)
from db.types import new_id, utcnow
from studio import assets, imaging
from studio.services import Services
from studio.sessions import tree


def stored_image(
    services: Services,
    bucket: str,
    size: int = 256,
    color: tuple[int, int, int] = (70, 110, 160),
) -> tuple[object, str, str | None]:
    """A small PNG, prepared and stored once: (prepared, key, thumbnail key). Files are named
    by their content: pass a `color` of its own for a file no other test shares."""
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "PNG")
    limits = imaging.ImageLimits.from_settings(services.settings)
    prepared = assets.prepare_image(buf.getvalue(), limits)
    key, thumb = assets.store_prepared(services.storage, prepared, bucket)
    return prepared, key, thumb


def produced_session(
    services: Services, owner: str, steps: int, *, branch_every: int = 7, title: str = "bulk"
) -> str:
    """A session of `steps` finished steps (each with an output image), made in one
    transaction. Step n continues step n-1, except every `branch_every`-th step, which branches
    from the step `branch_every` before it."""
    bucket = services.settings.sessions_bucket
    prepared, key, thumb = stored_image(services, bucket)
    start = utcnow() - timedelta(hours=1)
    ids: list[str] = []
    keys: dict[str, tuple[str, int]] = {}  # id -> (tree key, step), as the studio sets them
    has_child: set[str] = set()
    gen_rows, asset_rows = [], []
    session_id = new_id()
    for step in range(1, steps + 1):
        parent = None
        if ids:
            back = branch_every if step % branch_every == 0 and len(ids) >= branch_every else 1
            parent = ids[-back]
        gid = new_id()
        if parent is None:
            tree_key = tree.root_key(step)
        else:
            parent_key, parent_step = keys[parent]
            tree_key = tree.child_key(parent_key, parent_step, step, first=parent not in has_child)
            has_child.add(parent)
        keys[gid] = (tree_key, step)
        at = start + timedelta(milliseconds=step)
        gen_rows.append(
            {
                "id": gid,
                "session_id": session_id,
                "parent_generation_id": parent,
                "step": step,
                "tree_key": tree_key,
                "mode": "text_to_image" if parent is None else "image_to_image",
                "provider": "local",
                "model": "sketch",
                "prompt": f"step {step} of the bulk session",
                "negative_prompt": None,
                "params": {"width": 256, "height": 256, "seed": step, "strength": 0.6, "n": 1},
                "cost_estimate": 0.0,
                "cost_actual": 0.0,
                "duration_ms": 120,
                "job_id": None,
                "created_at": at,
                "started_at": at,
                "completed_at": at,
            }
        )
        row = assets.asset_row(
            prepared,  # type: ignore[arg-type]
            key=key,
            thumbnail_key=thumb,
            owner_id=owner,
            role="output",
            bucket=bucket,
            storage_name=services.storage.name,
            session_id=session_id,
            generation_id=gid,
        )
        asset_rows.append(
            {c.key: getattr(row, c.key) for c in ImageAsset.__table__.c}
            | {
                "id": new_id(),
                "created_at": at,
            }
        )
        ids.append(gid)
    with services.db() as db:
        db.execute(
            sa.insert(ImageSession.__table__).values(
                id=session_id,
                owner_id=owner,
                title=title,
                provider="local",
                model="sketch",
                created_at=start,
                updated_at=utcnow(),
            )
        )
        for chunk in range(0, len(gen_rows), 2000):
            db.execute(sa.insert(ImageGeneration.__table__), gen_rows[chunk : chunk + 2000])
            db.execute(sa.insert(ImageAsset.__table__), asset_rows[chunk : chunk + 2000])
        db.execute(
            sa.update(ImageSession.__table__)
            .where(ImageSession.__table__.c.id == session_id)
            .values(thumbnail_asset_id=asset_rows[-1]["id"])
        )
    return session_id


def storyboard_with_history(
    services: Services,
    owner: str,
    entities: int,
    history: int,
    *,
    title: str = "bulk board",
    color: tuple[int, int, int] = (70, 110, 160),
) -> str:
    """A storyboard of `entities` scenes and characters (alternating), each with `history`
    finished image requests, the newest its current image (all one stored image)."""
    bucket = services.settings.storyboard_images_bucket
    prepared, key, thumb = stored_image(services, bucket, color=color)
    start = utcnow() - timedelta(hours=1)
    board_id = new_id()
    ent_rows, gen_rows, asset_rows = [], [], []
    for e in range(entities):
        eid = new_id()
        kind = "scene" if e % 2 == 0 else "character"
        current = None
        for h in range(history):
            at = start + timedelta(seconds=e, milliseconds=h)
            aid = new_id()
            row = assets.asset_row(
                prepared,  # type: ignore[arg-type]
                key=key,
                thumbnail_key=thumb,
                owner_id=owner,
                role="output",
                bucket=bucket,
                storage_name=services.storage.name,
            )
            asset_rows.append(
                {c.key: getattr(row, c.key) for c in ImageAsset.__table__.c}
                | {"id": aid, "created_at": at}
            )
            gen_rows.append(
                {
                    "id": new_id(),
                    "owner_id": owner,
                    "storyboard_id": board_id,
                    "entity_id": eid,
                    "media": "image",
                    "mode": "text_to_image",
                    "provider": "local",
                    "model": "sketch",
                    "prompt": f"{kind} {e} version {h}",
                    "params": {},
                    "asset_id": aid,
                    "created_at": at,
                    "started_at": at,
                    "completed_at": at,
                }
            )
            current = aid
        ent_rows.append(
            {
                "id": eid,
                "storyboard_id": board_id,
                "kind": kind,
                "name": f"{kind.capitalize()} {e}",
                "description": f"The {kind} number {e}",
                "image_asset_id": current,
                "image_generated_at": start,
                "created_at": start + timedelta(seconds=e),
                "updated_at": start + timedelta(seconds=e),
            }
        )
    with services.db() as db:
        db.execute(
            sa.insert(Storyboard.__table__).values(
                id=board_id, owner_id=owner, title=title, created_at=start, updated_at=utcnow()
            )
        )
        if asset_rows:
            db.execute(sa.insert(ImageAsset.__table__), asset_rows)
        if ent_rows:
            db.execute(sa.insert(StoryboardEntity.__table__), ent_rows)
        if gen_rows:
            db.execute(sa.insert(StoryboardGeneration.__table__), gen_rows)
    return board_id
