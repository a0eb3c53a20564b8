"""`studio queue pause|resume|step|cap|move|status` on both databases, and caps from the
configuration."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from studio import cli
from studio.config import Settings
from studio.services import Services
from tests.conftest import make_settings


@pytest.fixture
def svc(settings: Settings, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> Services:
    services = Services.build(settings, engine=engine, migrate=False)
    monkeypatch.setattr(cli.common, "services_for_cli", lambda migrate=True: services)
    return services


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_pause_status_resume(svc: Services, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "queue", "pause", "--kind", "noop", "--by", "ops")
    assert code == 0 and "Paused: kind noop, since" in out and "by ops" in out
    svc.queue.enqueue("noop")
    assert svc.queue.claim("w") is None
    code, out = run(capsys, "queue", "status")
    assert "Paused: kind noop" in out and "1 pending" in out
    code, out = run(capsys, "queue", "resume", "--kind", "noop")
    assert code == 0 and "Resumed kind noop." in out
    assert run(capsys, "queue", "status")[1].startswith("Not paused.")


def test_step_cap_and_move(svc: Services, capsys: pytest.CaptureFixture[str]) -> None:
    first = svc.queue.enqueue("noop", label="first")
    last = svc.queue.enqueue("noop", label="last")
    code, out = run(capsys, "queue", "move", last.id[:8], "front")
    assert code == 0 and "Moved last" in out
    code, out = run(capsys, "queue", "step", "--by", "ed")
    assert code == 0 and "letting last" in out
    claimed = svc.queue.claim("w")
    assert claimed is not None and claimed.id == last.id
    assert svc.queue.claim("w") is None
    code, out = run(capsys, "queue", "cap", "--kind", "noop", "2")
    assert code == 0 and "at most 2 at once" in out
    assert "Cap: kind noop: at most 2 at once" in run(capsys, "queue", "status")[1]
    assert run(capsys, "queue", "move", "nosuchjob", "up")[0] == 4
    assert run(capsys, "queue", "move", claimed.id, "up")[0] == 5, "running: a conflict"
    assert first.id


def test_configured_caps_are_applied_at_start(
    tmp_path: object, db_url: str, engine: sa.Engine
) -> None:
    settings = make_settings(tmp_path, db_url, queue_caps="kind:storyboard_video=1")  # type: ignore[arg-type]
    services = Services.build(settings, engine=engine, migrate=False)
    [control] = services.queue.controls()
    assert (control.scope, control.name, control.cap, control.cap_by) == (
        "kind",
        "storyboard_video",
        1,
        "configuration",
    )
    with pytest.raises(ValueError):
        make_settings(tmp_path, db_url, queue_caps="kind:x")  # type: ignore[arg-type]
