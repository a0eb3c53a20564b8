"""Export a song or a storyboard as a zip (sessions, which can also be imported, are in
archive.py).

A song's zip: `song.json` (title, tags, published, each verse's text and the prompt, provider,
model and summary of its illustration) and `verses/<n>.png` (each illustration, its prompt
embedded in PNG text chunks). A storyboard's zip: `storyboard.json` (each scene and character
with its description, its current image and video, and every request made for it: mode, prompt,
parameters, provider, model, state, costs and times) and the files under `entities/<k>/` and
`other/` (requests filed under no scene or character).
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

from db.types import utcnow
from studio import assets, imaging
from studio.lifecycle.archive import slug
from studio.songs import get_song
from studio.storyboards import get_storyboard
from studio.storyboards.reads import GenerationView

if TYPE_CHECKING:
    from studio.services import Services


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _image_file(services: Services, asset: Any, embedded: dict[str, Any]) -> bytes:
    """An image as PNG with `embedded` in its text chunks; a video as stored."""
    data = assets.read_bytes(services.storage, asset)
    if str(asset.mime_type).startswith("image/"):
        return imaging.embed_parameters(data, embedded)
    return data


def _name(base: str, asset: Any) -> str:
    mime = str(asset.mime_type)
    if mime.startswith("image/"):
        return f"{base}.png"
    return f"{base}.{str(asset.key).rsplit('.', 1)[-1]}"


def export_song(services: Services, owner_id: str, song_id: str) -> tuple[str, bytes]:
    """(file name, zip bytes) of the owner's song."""
    song = get_song(services, owner_id, song_id)
    buf = io.BytesIO()
    verses = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for v in song.verses:
            file = None
            if v.illustration is not None:
                file = _name(f"verses/{v.number}", v.illustration)
                embedded = {
                    "prompt": v.prompt or "",
                    "provider": v.provider,
                    "model": v.model,
                    "song": song.title,
                    "verse": v.number,
                }
                zf.writestr(file, _image_file(services, v.illustration, embedded))
            verses.append(
                {
                    "number": v.number,
                    "text": v.text,
                    "illustration": file,
                    "prompt": v.prompt,
                    "provider": v.provider,
                    "model": v.model,
                    "summary": v.summary,
                    "illustrated_at": _iso(v.illustrated_at),
                    "status": v.state.status,
                }
            )
        body = {
            "format": "image-studio-song",
            "version": 1,
            "title": song.title,
            "tags": song.tags,
            "published": song.published,
            "created_at": _iso(song.created_at),
            "exported_at": utcnow().isoformat(),
            "verses": verses,
        }
        zf.writestr("song.json", json.dumps(body, indent=2, ensure_ascii=False))
    return f"{slug(song.title)}.zip", buf.getvalue()


def _request(
    services: Services, zf: zipfile.ZipFile, folder: str, g: GenerationView, title: str
) -> dict[str, Any]:
    gen = g.generation
    file = None
    if g.asset is not None:
        file = _name(f"{folder}/{g.media}-{gen.id[:8]}", g.asset)
        embedded = {
            "prompt": gen.prompt,
            "provider": gen.provider,
            "model": gen.model,
            "mode": gen.mode,
            **(gen.params or {}),
            "storyboard": title,
        }
        zf.writestr(file, _image_file(services, g.asset, embedded))
    return {
        "media": gen.media,
        "mode": gen.mode,
        "prompt": gen.prompt,
        "params": gen.params or {},
        "provider": gen.provider,
        "model": gen.model,
        "status": g.status,
        "cost_estimate": gen.cost_estimate,
        "cost_actual": gen.cost_actual,
        "created_at": _iso(gen.created_at),
        "completed_at": _iso(gen.completed_at),
        "file": file,
        "asset_id": gen.asset_id,
    }


def export_storyboard(services: Services, owner_id: str, storyboard_id: str) -> tuple[str, bytes]:
    """(file name, zip bytes) of the owner's storyboard: every entity, current and past images
    and videos."""
    board = get_storyboard(services, owner_id, storyboard_id)
    buf = io.BytesIO()
    entities = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, e in enumerate(board.entities, start=1):
            folder = f"entities/{k}"
            requests = [_request(services, zf, folder, g, board.title) for g in e.generations]
            by_asset = {r["asset_id"]: r["file"] for r in requests if r["asset_id"]}
            current: dict[str, str | None] = {}
            for media, asset in (("image", e.image), ("video", e.video)):
                if asset is None:
                    current[media] = None
                elif asset.id in by_asset:
                    current[media] = by_asset[asset.id]
                else:  # made outside a request (an upload): stored as is
                    name = _name(f"{folder}/current-{media}", asset)
                    zf.writestr(name, _image_file(services, asset, {"storyboard": board.title}))
                    current[media] = name
            entities.append(
                {
                    "kind": e.kind,
                    "name": e.name,
                    "description": e.description,
                    "image": current["image"],
                    "video": current["video"],
                    "requests": [{k: v for k, v in r.items() if k != "asset_id"} for r in requests],
                }
            )
        other = [
            {
                k: v
                for k, v in _request(services, zf, "other", g, board.title).items()
                if k != "asset_id"
            }
            for g in board.loose
        ]
        body = {
            "format": "image-studio-storyboard",
            "version": 1,
            "title": board.title,
            "created_at": _iso(board.storyboard.created_at),
            "exported_at": utcnow().isoformat(),
            "entities": entities,
            "other": other,
        }
        zf.writestr("storyboard.json", json.dumps(body, indent=2, ensure_ascii=False))
    return f"{slug(board.title)}.zip", buf.getvalue()
