"""Export a session as a zip and import it back (studio/lifecycle/archive.py), on both
databases; hostile zips are refused and store nothing."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset, ImageGeneration, ImageSession
from studio import sessions as S
from studio.errors import Invalid
from studio.imaging import read_parameters
from studio.jobs.worker import process_next
from studio.lifecycle import archive
from studio.services import Services

OWNER = "alice"
IMPORTER = "bob"


def key() -> str:
    return str(uuid.uuid4())


def params(prompt: str, **kw: object) -> S.GenerationParams:
    kw.setdefault("width", 64)
    kw.setdefault("height", 64)
    return S.GenerationParams(prompt=prompt, **kw)  # type: ignore[arg-type]


def run_all(services: Services) -> None:
    while process_next(services, "test") is not None:
        pass


def png(color: tuple[int, int, int], size: tuple[int, int] = (64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def mask_png() -> bytes:
    img = Image.new("L", (64, 64), 0)
    img.paste(255, (16, 16, 48, 48))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def a_session(services: Services) -> str:
    """Step 1 (text), 2 (an upload), 3 (inpaint of 2 with a mask), 4 (a branch from 2)."""
    session, _ = S.create_session(services, OWNER, params("a fox"), idempotency_key=key())
    run_all(services)
    two = S.iterate(
        services, OWNER, session.id, None, params("a fox in snow", strength=0.5),
        idempotency_key=key(), input_image=png((10, 90, 200)),
    )  # fmt: skip
    run_all(services)
    S.iterate(
        services, OWNER, session.id, two.id, params("a fox with a hat"),
        idempotency_key=key(), mask=mask_png(),
    )  # fmt: skip
    run_all(services)
    S.iterate(services, OWNER, session.id, two.id, params("a fox at dusk"), idempotency_key=key())
    run_all(services)
    return session.id


def shape(services: Services, owner: str, session_id: str) -> list[tuple[object, ...]]:
    """The tree and every file's bytes, independent of ids."""
    view = S.get_session(services, owner, session_id)
    out = []
    for depth, g in view.walk():
        parent = view.by_id.get(g.parent_id or "")
        files = tuple(
            (role, services.storage.get(a.bucket, a.key))
            for role, rows in (("input", g.inputs), ("mask", g.masks), ("output", g.outputs))
            for a in rows
        )
        gen = g.generation
        out.append(
            (
                depth,
                g.step,
                parent.step if parent else None,
                g.status,
                gen.mode,
                gen.prompt,
                gen.params,
                gen.provider,
                gen.model,
                gen.cost_estimate,
                gen.tree_key,
                files,
            )  # fmt: skip
        )
    return out


def counts(services: Services) -> tuple[int, int, int, int]:
    with services.db() as db:
        rows = tuple(
            int(db.scalar(sa.select(sa.func.count()).select_from(m)) or 0)
            for m in (ImageSession, ImageGeneration, ImageAsset)
        )
    media = Path(services.settings.storage_url)
    return (*rows, sum(1 for p in media.rglob("*") if p.is_file()))  # type: ignore[return-value]


def test_export_then_import_gives_the_same_tree_and_the_same_bytes(services: Services) -> None:
    sid = a_session(services)
    name, data = archive.export_session(services, OWNER, sid)
    assert name == "a-fox.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        lineage = json.loads(zf.read("lineage.json"))
        output = zf.read("steps/3/output-1.png")
    assert {"steps/2/input-1.png", "steps/3/mask-1.png", "steps/4/output-1.png"} <= names
    assert [(s["step"], s["parent_step"]) for s in lineage["steps"]] == [
        (1, None), (2, None), (3, 2), (4, 2),
    ]  # fmt: skip
    assert lineage["steps"][2]["mode"] == "inpaint" and lineage["steps"][0]["completed_at"]
    embedded = read_parameters(output)
    assert embedded is not None and embedded["prompt"] == "a fox with a hat"

    imported = archive.import_session(services, IMPORTER, data)
    assert imported.owner_id == IMPORTER and imported.title == "a fox"
    assert shape(services, IMPORTER, imported.id) == shape(services, OWNER, sid)
    view = S.get_session(services, IMPORTER, imported.id)
    assert view.thumbnail is not None and view.latest is not None
    # and it exports again to the same files
    _, again = archive.export_session(services, IMPORTER, imported.id)
    with zipfile.ZipFile(io.BytesIO(data)) as a, zipfile.ZipFile(io.BytesIO(again)) as b:
        for n in names - {"lineage.json"}:
            assert a.read(n) == b.read(n), n


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return buf.getvalue()


def lineage(**overrides: object) -> bytes:
    step = {
        "step": 1, "parent_step": None, "status": "succeeded", "mode": "text_to_image",
        "provider": "local", "model": "local-image", "prompt": "a fox", "params": {},
        "files": {"outputs": ["steps/1/output-1.png"]},
    }  # fmt: skip
    body = {"format": archive.FORMAT, "version": 1, "title": "Fox", "steps": [step]}
    body.update(overrides)
    return json.dumps(body).encode()


GOOD_IMAGE = png((1, 2, 3))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"lineage.json": lineage(), "steps/1/output-1.png": GOOD_IMAGE, "../evil.png": b"x"},
            "'../evil.png', which is not a file of an exported session",
        ),
        ({"lineage.json": lineage(), "/etc/passwd": b"x"}, "'/etc/passwd'"),
        ({"lineage.json": lineage(), "steps/1/../../x.png": b"x"}, "steps/1/../../x.png"),
        (
            {"lineage.json": b"{not json", "steps/1/output-1.png": GOOD_IMAGE},
            "lineage.json is not valid JSON",
        ),
        ({"lineage.json": b"[1, 2]"}, "not an Image Studio session"),
        ({"lineage.json": lineage(version=7), "steps/1/output-1.png": GOOD_IMAGE}, "version 7"),
        ({"lineage.json": lineage(steps=[{"step": "one"}])}, "wrong type"),
        (
            {
                "lineage.json": lineage(
                    steps=[{"step": 2, "parent_step": 9, "mode": "text_to_image"}]
                )
            },
            "comes from step 9",
        ),
        ({"lineage.json": lineage()}, "which the zip does not hold"),
        (
            {"lineage.json": lineage(), "steps/1/output-1.png": b"not an image at all"},
            "steps/1/output-1.png",
        ),
        ({"steps/1/output-1.png": GOOD_IMAGE}, "no lineage.json"),
        (
            {
                "lineage.json": lineage(),
                "steps/1/output-1.png": GOOD_IMAGE,
                "steps/1/output-2.png": GOOD_IMAGE,
            },
            "which lineage.json does not list",
        ),
    ],  # fmt: skip
)
def test_hostile_or_wrong_zips_are_refused_and_store_nothing(
    services: Services, files: dict[str, bytes], message: str
) -> None:
    before = counts(services)
    with pytest.raises(Invalid, match="This zip cannot be imported") as err:
        archive.import_session(services, IMPORTER, zip_of(files))
    assert message in err.value.user_message
    assert counts(services) == before


def test_a_zip_bomb_an_oversized_zip_and_garbage_are_refused(services: Services) -> None:
    before = counts(services)
    bomb = zip_of({"lineage.json": lineage(), "steps/1/output-1.png": b"\0" * 5_000_000})
    with pytest.raises(Invalid, match="compressed more than 200:1"):
        archive.import_session(services, IMPORTER, bomb)
    with pytest.raises(Invalid, match="unpacks to more than 100 bytes"):
        archive.import_session(
            services,
            IMPORTER,
            zip_of({"lineage.json": lineage(), "steps/1/output-1.png": GOOD_IMAGE}),
            limits=archive.ArchiveLimits(uncompressed=100),
        )
    with pytest.raises(Invalid, match="larger than 100 bytes"):
        archive.import_session(
            services, IMPORTER, bomb, limits=archive.ArchiveLimits(zip_bytes=100)
        )
    with pytest.raises(Invalid, match="not a zip file"):
        archive.import_session(services, IMPORTER, b"PK\x03\x04 garbage" * 10)
    with pytest.raises(Invalid, match="at most 1 are allowed"):
        archive.import_session(
            services,
            IMPORTER,
            zip_of({"lineage.json": lineage(), "steps/1/output-1.png": GOOD_IMAGE}),
            limits=archive.ArchiveLimits(entries=1),
        )
    assert counts(services) == before


def test_a_minimal_hand_made_zip_imports(services: Services) -> None:
    files = {"lineage.json": lineage(), "steps/1/output-1.png": GOOD_IMAGE}
    session = archive.import_session(services, IMPORTER, zip_of(files))
    view = S.get_session(services, IMPORTER, session.id)
    [step] = view.generations
    assert step.status == "succeeded" and step.output is not None
    with pytest.raises(Exception, match="does not exist or is not yours"):
        archive.export_session(services, OWNER, session.id)
