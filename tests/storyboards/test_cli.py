"""`studio enqueue image|image-edit|video` and `studio batch images`, on both databases: what is
enqueued, the messages and exit statuses for bad input, and batch idempotency."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset, Job, StoryboardGeneration
from studio import cli
from studio import storyboards as sb
from studio.config import DEMO_OWNER, Settings
from studio.jobs.worker import process_next
from studio.services import Services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def svc(settings: Settings, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The CLI runs against the test database (its own Services, as in a real process)."""
    services = Services.build(settings, engine=engine, migrate=False)
    monkeypatch.setattr(cli.common, "services_for_cli", lambda migrate=True: services)
    return services


@pytest.fixture
def board(svc: Services) -> dict[str, str]:
    b = sb.create_storyboard(svc, DEMO_OWNER, "Savannah")
    s = sb.add_entity(svc, DEMO_OWNER, b.id, kind="scene", name="Plains", description="Dawn")
    c = sb.add_entity(svc, DEMO_OWNER, b.id, kind="character", name="Lion", description="Old")
    return {"storyboard": b.id, "scene": s.id, "character": c.id}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows(svc: Services, model: type) -> int:
    with svc.db() as db:
        return int(db.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def nothing_stored(svc: Services) -> bool:
    return rows(svc, StoryboardGeneration) == rows(svc, Job) == rows(svc, ImageAsset) == 0


def png_file(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


# ---------------------------------------------------------------------------------------------
# enqueue
# ---------------------------------------------------------------------------------------------


def test_enqueue_image_for_a_scene(svc: Services, board: dict[str, str], capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(capsys, "enqueue", "image", "A lion at dawn", "--scene", board["scene"])
    assert code == cli.EXIT_OK, err
    assert "Queued an image from text: Image · Plains · Savannah" in out
    [gen] = sb.get_storyboard(svc, DEMO_OWNER, board["storyboard"]).entity(board["scene"]).active
    assert f"job {gen.generation.job_id}" in out
    assert process_next(svc, "w").status == "completed"
    assert sb.get_storyboard(svc, DEMO_OWNER, board["storyboard"]).entity(board["scene"]).image


def test_enqueue_image_with_a_key_is_idempotent(
    svc: Services, board: dict[str, str], capsys
) -> None:  # type: ignore[no-untyped-def]
    args = ("enqueue", "image", "A lion", "--character", board["character"], "--key", "cron-1")
    assert run(capsys, *args)[0] == cli.EXIT_OK
    assert run(capsys, *args)[0] == cli.EXIT_OK
    assert rows(svc, Job) == 1


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (
            ("enqueue", "image", "x", "--storyboard", "nope"),
            cli.EXIT_NOT_FOUND,
            "That storyboard does not exist",
        ),
        (
            ("enqueue", "image", "x", "--scene", "nope"),
            cli.EXIT_NOT_FOUND,
            "That scene or character does not exist",
        ),
        (("enqueue", "image", "   "), cli.EXIT_USAGE, "Write a prompt first"),
        (
            ("enqueue", "video", "x", "--duration", "5"),
            cli.EXIT_USAGE,
            "Duration must be 4, 6 or 8 seconds (got '5')",
        ),
        (
            ("enqueue", "video", "x", "--aspect", "4:3"),
            cli.EXIT_USAGE,
            "Aspect ratio must be 16:9 or 9:16 (got '4:3')",
        ),
        (
            ("enqueue", "video", "x", "--resolution", "4k"),
            cli.EXIT_USAGE,
            "Resolution must be 720p or 1080p (got '4k')",
        ),
        (
            ("enqueue", "image-edit", "x", "--source", "/no/such/file.png"),
            cli.EXIT_NOT_FOUND,
            "No file or asset '/no/such/file.png'",
        ),
        (("enqueue", "image-edit", "x"), cli.EXIT_USAGE, "needs a source image"),
        (
            ("enqueue", "video", "x", "--source", "https://example.com/a.png"),
            cli.EXIT_USAGE,
            "not a URL",
        ),
        (("enqueue", "video", "x", "--animate"), cli.EXIT_USAGE, "--animate needs --scene"),
        (
            ("enqueue", "image", "x", "--provider", "openai"),
            cli.EXIT_USAGE,
            "OPENAI_API_KEY is not set",
        ),
    ],
)
def test_bad_input_gets_a_message_and_a_status(
    svc: Services,
    capsys,
    argv: tuple[str, ...],
    status: int,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == status
    assert message in err and err.startswith("error: ")
    assert "Traceback" not in err and out == ""
    assert nothing_stored(svc)


def test_wrong_entity_kind_and_storyboard(svc: Services, board: dict[str, str], capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(capsys, "enqueue", "image", "x", "--character", board["scene"])
    assert code == cli.EXIT_USAGE and "is a scene, not a character (use --scene" in err
    other = sb.create_storyboard(svc, DEMO_OWNER, "Other")
    code, _, err = run(
        capsys, "enqueue", "image", "x", "--storyboard", other.id, "--scene", board["scene"]
    )
    assert code == cli.EXIT_USAGE and "belongs to another storyboard" in err
    assert rows(svc, Job) == 0


def test_a_source_that_is_not_an_image(svc: Services, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    notes = tmp_path / "notes.png"
    notes.write_text("shopping list")
    code, _, err = run(capsys, "enqueue", "image-edit", "x", "--source", str(notes))
    assert code == cli.EXIT_USAGE
    assert f"{notes} is not a usable image: This file is not an image we can read" in err
    code, _, err = run(capsys, "enqueue", "video", "x", "--source", str(tmp_path))
    assert code == cli.EXIT_USAGE and "is not a file" in err
    assert nothing_stored(svc) and not svc.storage.keys("storyboard-images")


def test_image_edit_and_video_from_a_file(
    svc: Services, board: dict[str, str], tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    src = png_file(tmp_path / "cliff.png")
    code, out, err = run(
        capsys,
        "enqueue",
        "image-edit",
        "Add rain",
        "--source",
        str(src),
        "--scene",
        board["scene"],
        "--strength",
        "0.3",
    )
    assert code == cli.EXIT_OK, err
    code, out, err = run(
        capsys,
        "enqueue",
        "video",
        "Rain falls",
        "--source",
        str(src),
        "--duration",
        "4",
        "--aspect",
        "9:16",
        "--resolution",
        "720p",
    )
    assert code == cli.EXIT_OK, err and "animated image" in out
    with svc.db() as db:
        gens = db.scalars(
            sa.select(StoryboardGeneration).order_by(StoryboardGeneration.created_at)
        ).all()
        inputs = db.scalars(sa.select(ImageAsset).where(ImageAsset.role == "input")).all()
    assert [g.mode for g in gens] == ["image_to_image", "image_to_video"]
    assert gens[0].params["strength"] == 0.3 and gens[0].entity_id == board["scene"]
    assert gens[1].params == {**gens[1].params, "aspect_ratio": "9:16", "duration_s": 4}
    assert len(inputs) == 2 and {(a.width, a.height) for a in inputs} == {(64, 48)}
    assert process_next(svc, "w").status == "completed"
    assert process_next(svc, "w").status == "completed"
    video = sb.get_generation(svc, DEMO_OWNER, gens[1].id).asset
    assert video.mime_type == "video/mp4" and video.width < video.height

    # An asset id works as a source too, and --animate uses the scene's current image.
    image_id = sb.get_generation(svc, DEMO_OWNER, gens[0].id).asset.id
    code, _, err = run(capsys, "enqueue", "image-edit", "Darker", "--source", image_id)
    assert code == cli.EXIT_OK, err
    code, out, err = run(
        capsys,
        "enqueue",
        "video",
        "Zoom",
        "--animate",
        "--scene",
        board["scene"],
        "--duration",
        "6",
    )
    assert code == cli.EXIT_OK, err
    with svc.db() as db:
        animate = db.scalars(
            sa.select(StoryboardGeneration).order_by(StoryboardGeneration.created_at.desc())
        ).first()
    assert animate.mode == "image_to_video" and animate.source_asset_id == image_id


# ---------------------------------------------------------------------------------------------
# batch
# ---------------------------------------------------------------------------------------------


def write(path: Path, entries: object) -> Path:
    path.write_text(json.dumps(entries, indent=2))
    return path


def test_batch_is_idempotent_and_reports_bad_entries_by_line(
    svc: Services,
    board: dict[str, str],
    tmp_path: Path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    png_file(tmp_path / "ref.png")
    scene, character, storyboard = board["scene"], board["character"], board["storyboard"]
    text = "\n".join(
        [
            "[",
            f'  {{"prompt": "Plains at dawn", "sceneId": "{scene}"}},',
            f'  {{"prompt": "Lion portrait", "character": "{character}"}},',
            '  {"promt": "typo"},',
            '  "A loose lighthouse",',
            f'  {{"prompt": "Lion portrait", "character": "{character}"}},',
            f'  {{"prompt": "Edit it", "source": "ref.png", "storyboard": "{storyboard}"}},',
            '  {"prompt": "x", "scene": "nope"},',
            f'  {{"prompt": "y", "scene": "{scene}", "edit": true}},',
            '  {"prompt": "z", "scene": "a", "character": "b"},',
            "  42",
            "]",
        ]
    )
    path = tmp_path / "prompts.json"
    path.write_text(text)

    code, out, err = run(capsys, "batch", "images", str(path))
    assert code == cli.EXIT_JOB_FAILED  # some entries were skipped
    assert "10 entries: 5 enqueued, 0 already enqueued earlier, 5 invalid (skipped)." in out
    problems = [line for line in err.splitlines() if "skipped:" in line]
    assert problems == [
        f"{path}:4: entry 3 skipped: Unknown field 'promt' (fields: character, edit, model, "
        "prompt, provider, scene, seed, source, storyboard).",
        f"{path}:8: entry 7 skipped: That scene or character does not exist or is not yours.",
        f"{path}:9: entry 8 skipped: Plains has no image yet: generate one first, then edit it.",
        f"{path}:10: entry 9 skipped: Give a scene or a character, not both.",
        f'{path}:11: entry 10 skipped: Each entry must be an object with a "prompt" (or a '
        "prompt string).",
    ]
    assert "[##############################] 10/10" in err  # the progress bar
    assert rows(svc, Job) == 5  # the repeated "Lion portrait" is a second, deliberate request

    # Running the same file again enqueues nothing new.
    code, out, err = run(capsys, "batch", "images", str(path))
    assert code == cli.EXIT_JOB_FAILED
    assert "10 entries: 0 enqueued, 5 already enqueued earlier, 5 invalid (skipped)." in out
    assert rows(svc, Job) == 5

    with svc.db() as db:
        gens = db.scalars(sa.select(StoryboardGeneration)).all()
    by_prompt = {g.prompt: g for g in gens}
    assert by_prompt["Plains at dawn"].entity_id == board["scene"]
    assert by_prompt["A loose lighthouse"].storyboard_id is None
    assert by_prompt["Edit it"].mode == "image_to_image"
    assert by_prompt["Edit it"].storyboard_id == board["storyboard"]


def test_batch_refuses_text_that_is_not_valid_and_enqueues_the_rest(
    svc: Services, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    """A JSON escape can carry a lone surrogate or a control character: that entry is refused
    with its line, the valid ones are enqueued, and no traceback."""
    path = tmp_path / "prompts.json"
    path.write_text(
        '[\n  {"prompt": "A lighthouse"},\n  {"prompt": "bad \\ud800 text"},\n'
        '  {"prompt": "bell \\u0007"},\n  {"prompt": "ok", "scene": "x\\ud83d"}\n]'
    )
    code, out, err = run(capsys, "batch", "images", str(path))
    assert code == cli.EXIT_JOB_FAILED and "Traceback" not in err
    assert "4 entries: 1 enqueued, 0 already enqueued earlier, 3 invalid (skipped)." in out
    problems = [line for line in err.splitlines() if "skipped:" in line]
    assert problems == [
        f"{path}:3: entry 2 skipped: The prompt contains something that is not valid text "
        "(U+D800) on line 1; remove it and try again.",
        f"{path}:4: entry 3 skipped: The prompt contains a control character (U+0007) on "
        "line 1; remove it and try again.",
        f"{path}:5: entry 4 skipped: The scene contains something that is not valid text "
        "(U+D83D); remove it and try again.",
    ]
    assert rows(svc, Job) == 1


def test_batch_default_storyboard_and_clean_run(
    svc: Services, board: dict[str, str], tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path / "p.json", [{"prompt": "One"}, {"prompt": "Two"}])
    code, out, _ = run(capsys, "batch", "images", str(path), "--storyboard", board["storyboard"])
    assert code == cli.EXIT_OK and "2 entries: 2 enqueued" in out
    view = sb.get_storyboard(svc, DEMO_OWNER, board["storyboard"])
    assert sorted(g.prompt for g in view.loose) == ["One", "Two"]
    # The same prompts without the storyboard are different requests.
    code, out, _ = run(capsys, "batch", "images", str(path))
    assert code == cli.EXIT_OK and "2 entries: 2 enqueued" in out
    code, _, err = run(capsys, "batch", "images", str(path), "--storyboard", "nope")
    assert code == cli.EXIT_JOB_FAILED and err.count("That storyboard does not exist") == 2


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (
            '[\n  {"prompt": "a"}\n  {"prompt": "b"}\n]',
            cli.EXIT_USAGE,
            "line 3, column 3: malformed JSON: Expecting ',' delimiter.",
        ),
        ('{"prompt": "a"}', cli.EXIT_USAGE, "line 1: the file must be a JSON list"),
        ("[]", cli.EXIT_USAGE, "the list is empty"),
        ("", cli.EXIT_USAGE, "malformed JSON: Expecting value"),
        (None, cli.EXIT_NOT_FOUND, "There is no file"),
    ],
)
def test_batch_file_problems(
    svc: Services, tmp_path: Path, capsys, content: str | None, status: int, message: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "prompts.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "batch", "images", str(path))
    assert code == status and message in err and "Traceback" not in err
    assert nothing_stored(svc)


# ---------------------------------------------------------------------------------------------
# The installed console script
# ---------------------------------------------------------------------------------------------


def test_console_script_exit_statuses(tmp_path: Path, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the process-level check")
    env = {
        **os.environ,
        "STUDIO_DATABASE_URL": db_url,
        "STUDIO_STORAGE_URL": str(tmp_path / "media"),
        "STUDIO_EMBEDDED_WORKER": "false",
    }
    studio = [sys.executable, "-c", "import sys; from studio.cli import main; sys.exit(main())"]

    def call(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*studio, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    ok = call("enqueue", "video", "Waves", "--duration", "4")
    assert ok.returncode == 0 and "Queued a video from text" in ok.stdout
    missing = call("enqueue", "image", "x", "--storyboard", "nope")
    assert missing.returncode == 4 and "That storyboard does not exist" in missing.stderr
    bad = call("enqueue", "video", "x", "--duration", "10")
    assert bad.returncode == 2 and "Duration must be 4, 6 or 8 seconds" in bad.stderr
    worker = call("worker", "--once")
    assert worker.returncode == 0 and "processed 1 job(s)" in worker.stdout


# ---------------------------------------------------------------------------------------------
# acting as a named user
# ---------------------------------------------------------------------------------------------


def test_the_cli_acts_as_a_named_user(  # type: ignore[no-untyped-def]
    svc: Services, board: dict[str, str], capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STUDIO_CLI_OWNER names the user, --owner overrides it; their work is theirs alone, and
    another user's scene is not found."""
    monkeypatch.setenv("STUDIO_CLI_OWNER", "carol@https://issuer")
    svc.settings = Settings(_env_file=None, **svc.settings.model_dump(exclude={"cli_owner"}))  # type: ignore[call-arg]
    assert svc.settings.cli_owner == "carol@https://issuer"
    assert run(capsys, "enqueue", "image", "Carol's lighthouse")[0] == cli.EXIT_OK
    assert run(capsys, "enqueue", "image", "Dave's", "--owner", "dave")[0] == cli.EXIT_OK
    assert [g.generation.prompt for g in sb.list_unfiled(svc, "carol@https://issuer")] == [
        "Carol's lighthouse"
    ]
    assert [g.generation.prompt for g in sb.list_unfiled(svc, "dave")] == ["Dave's"]
    assert sb.list_unfiled(svc, DEMO_OWNER) == []
    with svc.db() as db:
        owners = set(db.scalars(sa.select(Job.owner_id)))
    assert owners == {"carol@https://issuer", "dave"}  # their limits count these jobs
    code, _, err = run(capsys, "enqueue", "image", "x", "--scene", board["scene"])
    assert code == cli.EXIT_NOT_FOUND, err  # the demo user's scene, seen from Carol
