"""What `studio worker` prints when it starts: its own lines, not Alembic's set-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_starting_on_a_new_database_prints_only_its_own_lines(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        STUDIO_DATABASE_URL=f"sqlite:///{tmp_path}/fresh.db",  # migrated at start
        STUDIO_STORAGE_URL=str(tmp_path / "media"),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from studio.cli import main; raise SystemExit(main())",
            "worker",
            "--once",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "alembic" not in out.lower(), out
    assert "processed 0 job(s)" in out
