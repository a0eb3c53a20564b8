"""`studio backup PATH`: a consistent copy of a SQLite database taken while the studio runs
(SQLite's online backup API copies a snapshot page by page, writers carry on), and a copy of the
local media folder. Copy the database first, then the files: files are only ever added before
their rows and content-addressed, so every row in the copy finds its file (at worst a few extra
files no row references, which `studio gc` lists).

PostgreSQL and S3 have their own tools (pg_dump, bucket versioning or `aws s3 sync`); the
command says so instead of half doing it. docs/lifecycle.md gives the commands.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from studio.errors import Invalid

if TYPE_CHECKING:
    from studio.services import Services


def backup(services: Services, target: Path) -> list[str]:
    """Write `target`/studio.db and `target`/media/; returns what was done, line by line."""
    if target.exists() and any(target.iterdir()):
        raise Invalid(f"{target} is not empty: back up into a new folder.")
    url = services.engine.url
    done: list[str] = []
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise Invalid(
            "studio backup copies a SQLite database; for PostgreSQL use "
            "pg_dump --format=custom (see docs/lifecycle.md)."
        )
    target.mkdir(parents=True, exist_ok=True)
    db_copy = target / "studio.db"
    source = sqlite3.connect(url.database)
    try:
        dest = sqlite3.connect(db_copy)
        try:
            source.backup(dest)  # the online backup API: a consistent snapshot
        finally:
            dest.close()
    finally:
        source.close()
    done.append(f"Database: {url.database} -> {db_copy}")
    storage_url = services.settings.storage_url
    if storage_url.startswith("s3://"):
        done.append(
            f"Media: on S3 ({storage_url}), not copied: turn on bucket versioning, or "
            f"aws s3 sync {storage_url} <backup location> (see docs/lifecycle.md)."
        )
    else:
        media = Path(storage_url)
        if media.is_dir():
            shutil.copytree(media, target / "media", ignore=shutil.ignore_patterns(".tmp-*"))
            done.append(f"Media: {media} -> {target / 'media'}")
        else:
            done.append(f"Media: {media} does not exist yet; nothing to copy.")
    return done
