"""Export a session as a zip, and import such a zip as a new session of the importing person.

The zip holds `lineage.json` (the tree: each step's parent, mode, prompt, parameters, provider
and model, costs and times) and, per step, `steps/<step>/output-<n>.png` (the parameters
embedded in PNG text chunks, as the Download button gives them), `input-<n>.png` and
`mask-<n>.png`. A stored PNG is exported as is plus the text chunks, and the import strips them
again, so the round trip gives byte-identical pixels and files.

An import trusts nothing in the zip. Every check runs before anything is stored: the zip's size,
each name (only the names above: no folders of its own, no '..', no absolute paths), the total
uncompressed size and each entry's compression ratio (a zip bomb), the number of entries, the
JSON and its fields (people's text through studio/text.py), and every image (decoded within the
studio's image limits). Then one transaction adds the session, its steps and their assets; the
steps have no jobs (they are done: produced steps read as succeeded, the others as canceled).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from db.schema import GENERATION_MODES, ImageGeneration, ImageSession
from db.types import utcnow
from studio import assets, imaging, search
from studio.errors import Invalid
from studio.sessions import costs, get_session
from studio.sessions import tree as session_tree
from studio.text import MAX_TITLE_CHARS, check_text

if TYPE_CHECKING:
    from studio.services import Services

FORMAT = "image-studio-session"
VERSION = 1
LINEAGE = "lineage.json"
MAX_ZIP_BYTES = 512 * 1024 * 1024
MAX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per entry (PNGs barely compress; bombs do)
MAX_ENTRIES = 20_000
MAX_LINEAGE_BYTES = 50 * 1024 * 1024
TOO_BIG = f"The zip is larger than {MAX_ZIP_BYTES // (1024 * 1024)} MB."
_NAME = re.compile(r"^steps/(\d{1,7})/(output|input|mask)-(\d{1,3})\.png$")
_ROLES = {"output": "outputs", "input": "inputs", "mask": "masks"}
_TIMES = ("created_at", "started_at", "completed_at")


@dataclass(frozen=True)
class ArchiveLimits:
    zip_bytes: int = MAX_ZIP_BYTES
    uncompressed: int = MAX_UNCOMPRESSED
    ratio: int = MAX_RATIO
    entries: int = MAX_ENTRIES


def slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "session"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------


def export_session(services: Services, owner_id: str, session_id: str) -> tuple[str, bytes]:
    """(file name, zip bytes) of the owner's session."""
    view = get_session(services, owner_id, session_id)
    by_id = {g.id: g for g in view.generations}
    steps = []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for g in view.generations:
            gen = g.generation
            parent = by_id.get(gen.parent_generation_id or "")
            embedded = {
                "prompt": gen.prompt,
                "negative_prompt": gen.negative_prompt,
                "provider": gen.provider,
                "model": gen.model,
                "mode": gen.mode,
                "step": gen.step,
                **(gen.params or {}),
                "session": view.title,
            }
            files: dict[str, list[str]] = {}
            for role, rows in (("output", g.outputs), ("input", g.inputs), ("mask", g.masks)):
                names = []
                for n, asset in enumerate(rows, start=1):
                    data = assets.read_bytes(services.storage, asset)
                    png = imaging.embed_parameters(data, embedded) if role == "output" else data
                    if not png.startswith(imaging.PNG_SIGNATURE):
                        png = imaging.embed_parameters(png, {})  # a stored JPEG: same pixels
                    name = f"steps/{gen.step}/{role}-{n}.png"
                    zf.writestr(name, png)
                    names.append(name)
                files[_ROLES[role]] = names
            steps.append(
                {
                    "step": gen.step,
                    "parent_step": parent.step if parent is not None else None,
                    "status": g.status,
                    "mode": gen.mode,
                    "provider": gen.provider,
                    "model": gen.model,
                    "prompt": gen.prompt,
                    "negative_prompt": gen.negative_prompt,
                    "params": gen.params or {},
                    "cost_estimate": gen.cost_estimate,
                    "cost_actual": gen.cost_actual,
                    "duration_ms": gen.duration_ms,
                    **{t: _iso(getattr(gen, t)) for t in _TIMES},
                    "files": files,
                }
            )
        lineage = {
            "format": FORMAT,
            "version": VERSION,
            "title": view.title,
            "exported_at": utcnow().isoformat(),
            "created_at": _iso(view.session.created_at),
            "provider": view.session.provider,
            "model": view.session.model,
            "steps": steps,
        }
        zf.writestr(LINEAGE, json.dumps(lineage, indent=2, ensure_ascii=False))
    return f"{slug(view.title)}.zip", buf.getvalue()


# ---------------------------------------------------------------------------------------------
# import: check everything, then store
# ---------------------------------------------------------------------------------------------


@dataclass
class _Step:
    step: int
    parent_step: int | None
    mode: str
    provider: str
    model: str
    prompt: str
    negative_prompt: str | None
    params: dict[str, Any]
    cost_estimate: float | None
    cost_actual: float | None
    duration_ms: int | None
    produced: bool
    files: dict[str, list[assets.PreparedImage]] = field(default_factory=dict)


def _refuse(why: str) -> Invalid:
    return Invalid(f"This zip cannot be imported: {why}")


def _read_entries(data: bytes, limits: ArchiveLimits) -> dict[str, bytes]:
    if len(data) > limits.zip_bytes:
        raise _refuse(f"it is larger than {limits.zip_bytes:,} bytes.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse("it is not a zip file (or it is damaged).") from None
    if len(infos) > limits.entries:
        raise _refuse(f"it holds {len(infos):,} files; at most {limits.entries:,} are allowed.")
    names = set()
    total = 0
    for info in infos:
        name = info.filename
        if name != LINEAGE and not _NAME.match(name):
            raise _refuse(
                f"it holds {name!r}, which is not a file of an exported session "
                "(lineage.json and steps/<n>/output|input|mask-<n>.png only)."
            )
        if name in names:
            raise _refuse(f"it holds {name!r} twice.")
        names.add(name)
        if info.flag_bits & 0x1:
            raise _refuse("it is encrypted.")
        total += info.file_size
        if total > limits.uncompressed:
            raise _refuse(f"it unpacks to more than {limits.uncompressed:,} bytes.")
        if info.file_size > limits.ratio * max(info.compress_size, 1):
            raise _refuse(f"{name} is compressed more than {limits.ratio}:1 (a zip bomb?).")
    if LINEAGE not in names:
        raise _refuse("it has no lineage.json: it is not an exported session.")
    out: dict[str, bytes] = {}
    try:
        for info in infos:
            with zf.open(info) as f:
                body = f.read(info.file_size + 1)  # never more than declared, whatever it says
            if len(body) != info.file_size:
                raise _refuse(f"{info.filename} is not the size its header says.")
            out[info.filename] = body
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        raise _refuse("it is damaged.") from None
    return out


def _field(raw: dict[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = raw.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise _refuse(f"{where}: {name} has the wrong type.")
    return value


def _parse_lineage(
    body: bytes, entries: dict[str, bytes], services: Services
) -> tuple[str, list[_Step]]:
    if len(body) > MAX_LINEAGE_BYTES:
        raise _refuse("lineage.json is too large.")
    try:
        lineage = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(f"lineage.json is not valid JSON ({exc.__class__.__name__}).") from None
    if not isinstance(lineage, dict) or lineage.get("format") != FORMAT:
        raise _refuse("lineage.json is not an Image Studio session.")
    if lineage.get("version") != VERSION:
        raise _refuse(
            f"lineage.json has version {lineage.get('version')!r}; this studio reads {VERSION}."
        )
    title = check_text(lineage.get("title"), what="title", limit=MAX_TITLE_CHARS) or "Imported"
    raw_steps = lineage.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _refuse("lineage.json lists no steps.")
    limits = imaging.ImageLimits.from_settings(services.settings)
    steps: list[_Step] = []
    seen: set[int] = set()
    used: set[str] = set()
    for i, raw in enumerate(raw_steps, start=1):
        where = f"step {i} of lineage.json"
        if not isinstance(raw, dict):
            raise _refuse(f"{where} is not an object.")
        number = _field(raw, "step", int, where)
        if number is None or not 1 <= number <= 9_999_999 or number in seen:
            raise _refuse(f"{where} has a missing, invalid or repeated step number.")
        parent = _field(raw, "parent_step", int, where)
        if parent is not None and parent not in seen:
            raise _refuse(f"{where} comes from step {parent}, which is not listed before it.")
        mode = raw.get("mode")
        if mode not in GENERATION_MODES:
            raise _refuse(f"{where} has an unknown mode {mode!r}.")
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise _refuse(f"{where}: params must be an object.")
        files_raw = raw.get("files") or {}
        if not isinstance(files_raw, dict):
            raise _refuse(f"{where}: files must be an object.")
        step = _Step(
            step=number,
            parent_step=parent,
            mode=mode,
            provider=check_text(
                raw.get("provider"), what="provider", limit=50, empty=f"{where} names no provider."
            ),
            model=check_text(
                raw.get("model"), what="model", limit=200, empty=f"{where} names no model."
            ),
            prompt=check_text(
                raw.get("prompt"),
                what="prompt",
                limit=services.settings.max_prompt_chars,
                multiline=True,
            ),
            negative_prompt=check_text(
                raw.get("negative_prompt"),
                what="negative prompt",
                limit=services.settings.max_prompt_chars,
                multiline=True,
            )
            or None,
            params=params,
            cost_estimate=_field(raw, "cost_estimate", (int, float), where),
            cost_actual=_field(raw, "cost_actual", (int, float), where),
            duration_ms=_field(raw, "duration_ms", int, where),
            produced=raw.get("status") == "succeeded" or raw.get("completed_at") is not None,
        )
        for role, key in _ROLES.items():
            names = files_raw.get(key) or []
            if not isinstance(names, list):
                raise _refuse(f"{where}: files.{key} must be a list.")
            prepared = []
            for name in names:
                match = _NAME.match(name) if isinstance(name, str) else None
                if match is None or int(match.group(1)) != number or match.group(2) != role:
                    raise _refuse(f"{where} names {name!r}, which is not one of its {key}.")
                if name not in entries or name in used:
                    raise _refuse(f"{where} names {name}, which the zip does not hold.")
                used.add(name)
                try:
                    prepare = assets.prepare_mask if role == "mask" else assets.prepare_image
                    prepared.append(prepare(entries[name], limits))
                except Invalid as exc:
                    raise _refuse(f"{name}: {exc.user_message}") from None
            step.files[role] = prepared
        seen.add(number)
        steps.append(step)
    extra = set(entries) - used - {LINEAGE}
    if extra:
        raise _refuse(f"it holds {sorted(extra)[0]}, which lineage.json does not list.")
    return title, steps


def import_session(
    services: Services, owner_id: str, data: bytes, *, limits: ArchiveLimits | None = None
) -> ImageSession:
    """A new session of `owner_id` from an exported zip: the same tree, the same pixels.
    Raises Invalid, having stored nothing, for anything that is not such a zip."""
    entries = _read_entries(data, limits or ArchiveLimits())
    title, steps = _parse_lineage(entries[LINEAGE], entries, services)
    bucket = services.settings.sessions_bucket
    now = utcnow()
    with services.db() as db:
        session = ImageSession(owner_id=owner_id, title=title)
        db.add(session)
        db.flush()
        ids: dict[int, str] = {}
        thumbnail = None
        for step in sorted(steps, key=lambda s: s.step):
            parent_id = ids.get(step.parent_step) if step.parent_step is not None else None
            gen = ImageGeneration(
                session_id=session.id,
                parent_generation_id=parent_id,
                step=step.step,
                tree_key=session_tree.key_for(db, parent_id, step.step),
                mode=step.mode,
                provider=step.provider,
                model=step.model,
                prompt=step.prompt,
                negative_prompt=step.negative_prompt,
                params=step.params,
                cost_estimate=step.cost_estimate,
                cost_actual=step.cost_actual,
                duration_ms=step.duration_ms,
                completed_at=now if step.produced and step.files.get("output") else None,
            )
            db.add(gen)
            db.flush()
            ids[step.step] = gen.id
            search.index_step(db, gen, owner_id)
            for role in ("input", "mask", "output"):
                for prepared in step.files.get(role, []):
                    key, thumb = assets.store_prepared(services.storage, prepared, bucket)
                    row = assets.asset_row(
                        prepared,
                        key=key,
                        thumbnail_key=thumb,
                        owner_id=owner_id,
                        role=role,
                        bucket=bucket,
                        storage_name=services.storage.name,
                        session_id=session.id,
                        generation_id=gen.id,
                    )
                    db.add(row)
                    db.flush()
                    if role == "output":
                        thumbnail = row.id
            if gen.completed_at is not None:
                costs.settle_step(db, session, gen)  # cost and time to here, session totals
            session.provider, session.model = step.provider, step.model
        session.thumbnail_asset_id = thumbnail
        db.flush()
        db.expunge(session)
    return session
