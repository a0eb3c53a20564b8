"""The housekeeping commands end to end: export, import (a refused zip exits 2), purge, prune,
backup."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from studio import sessions as S
from studio import storyboards as sb
from studio.cli import main as studio_main
from studio.config import DEMO_OWNER
from studio.jobs.worker import process_next
from studio.lifecycle import trash
from studio.services import Services


@pytest.fixture
def cli_env(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    monkeypatch.setenv("STUDIO_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("STUDIO_STORAGE_URL", services.settings.storage_url)
    monkeypatch.setenv("STUDIO_EMBEDDED_WORKER", "false")
    return services


def test_export_import_purge_prune_and_backup_commands(
    cli_env: Services,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = cli_env
    params = S.GenerationParams(prompt="a quiet harbour", width=64, height=64)
    session, _ = S.create_session(services, DEMO_OWNER, params, idempotency_key="cli")
    while process_next(services, "t") is not None:
        pass

    out = tmp_path / "harbour.zip"
    assert studio_main(["export", session.id, "--output", str(out)]) == 0
    assert out.stat().st_size > 0
    assert studio_main(["import", str(out), "--owner", "bob"]) == 0
    assert "Imported session" in capsys.readouterr().out
    assert S.list_sessions(services, "bob")[1] == 1
    monkeypatch.setenv("STUDIO_CLI_OWNER", "carol")  # without --owner: the configured user
    assert studio_main(["import", str(out)]) == 0
    assert S.list_sessions(services, "carol")[1] == 1
    assert studio_main(["export", session.id, "--output", str(tmp_path / "x.zip")]) == 4
    monkeypatch.delenv("STUDIO_CLI_OWNER")
    capsys.readouterr()

    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    assert studio_main(["import", str(bad)]) == 2
    assert "This zip cannot be imported: it is not a zip file" in capsys.readouterr().err
    assert studio_main(["export", "no-such-session"]) == 4
    board = sb.create_storyboard(services, DEMO_OWNER, "Harbour")
    board_zip = tmp_path / "board.zip"
    assert (
        studio_main(["export", board.id, "--kind", "storyboard", "--output", str(board_zip)]) == 0
    )
    assert zipfile.is_zipfile(board_zip)

    trash.delete(services, DEMO_OWNER, "session", session.id)
    assert studio_main(["purge"]) == 0
    assert "Purged 0 session(s)" in capsys.readouterr().out
    assert studio_main(["prune"]) == 0
    assert "Retention is off" in capsys.readouterr().out
    assert studio_main(["prune", "--days", "1"]) == 0
    assert "Pruned 0 finished job(s)" in capsys.readouterr().out

    code = studio_main(["backup", str(tmp_path / "backup")])
    if services.engine.url.get_backend_name() == "sqlite":
        assert code == 0 and (tmp_path / "backup" / "studio.db").is_file()
    else:
        assert code == 2 and "pg_dump" in capsys.readouterr().err
