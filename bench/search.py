"""Bench: search latency over 100,000 prompts across the three domains, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/search.py [--rows 100000 --queries 200]

Each database (a temp SQLite file; a scratch PostgreSQL database) is migrated, then loaded in
bulk with one person's work — session steps, song verses, storyboard scenes and characters,
in equal thirds — plus 10% as much of another person's, each row with the search entry the
studio writes with it (studio/search/index.py). Prompts are 6 to 14 words drawn from a
vocabulary of 5,000 made-up words (Zipf-like: a few words are common, most are rare) and the
full-text index is what the migration made (FTS5; tsvector + GIN, ANALYZE'd). Queries mix one
word, two words, a word prefix and a whole stored prompt; each runs `search.search` (the 50
best, exact matches first, with thumbnails) after WARMUP untimed ones.
Goal: p95 <= 50 ms on both. If PostgreSQL is unreachable, p95_ms_postgres=skipped.

    RESULT p95_ms_sqlite=… p95_ms_postgres=… p50_ms_sqlite=… p50_ms_postgres=… rows=…
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench.queue_throughput import db_url, reachable, scratch_db  # noqa: E402
from db.schema import (  # noqa: E402
    ImageGeneration,
    ImageSession,
    SearchEntry,
    Song,
    SongVerse,
    Storyboard,
    StoryboardEntity,
    table,
)
from studio import search  # noqa: E402
from studio.config import Settings  # noqa: E402
from studio.services import Services  # noqa: E402

OWNER, OTHER = "bench-owner", "bench-other"
VOCABULARY = 5_000
WARMUP = 20
BATCH = 5_000
PER_CONTAINER = 200


def words(rng: random.Random) -> list[str]:
    syllables = ["ka", "lo", "mi", "ren", "tu", "sha", "vel", "dor", "ni", "qua", "bre", "zol"]
    out: set[str] = set()
    while len(out) < VOCABULARY:
        out.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(out)


def prompt(rng: random.Random, vocab: list[str]) -> str:
    n = rng.randint(6, 14)
    return " ".join(vocab[min(len(vocab) - 1, int(rng.paretovariate(0.8))) - 1] for _ in range(n))


def _insert(conn: sa.Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), BATCH):
        conn.execute(table(model).insert(), rows[i : i + BATCH])


def load(services: Services, total: int, rng: random.Random, vocab: list[str]) -> list[str]:
    """Write `total` rows of OWNER's (and 10% of OTHER's); returns some stored prompts."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stored: list[str] = []
    with services.engine.begin() as conn:
        for owner, n in ((OWNER, total), (OTHER, total // 10)):
            third = n // 3
            sessions_, gens, songs_, verses_, boards, ents, entries = ([] for _ in range(7))
            for i in range(third):
                at = start + timedelta(seconds=i)
                if i % PER_CONTAINER == 0:
                    sid, song, board = (str(uuid.uuid4()) for _ in range(3))
                    sessions_.append(
                        {
                            "id": sid,
                            "owner_id": owner,
                            "title": f"s{i}",
                            "total_cost": 0.0,
                            "created_at": at,
                            "updated_at": at,
                        }
                    )
                    songs_.append(
                        {
                            "id": song,
                            "owner_id": owner,
                            "title": f"song {i}",
                            "tags": [],
                            "published": False,
                            "created_at": at,
                            "updated_at": at,
                        }
                    )
                    boards.append(
                        {
                            "id": board,
                            "owner_id": owner,
                            "title": f"board {i}",
                            "created_at": at,
                            "updated_at": at,
                        }
                    )
                step = i % PER_CONTAINER + 1
                gid, vid, eid = (str(uuid.uuid4()) for _ in range(3))
                p, v, e = prompt(rng, vocab), prompt(rng, vocab), prompt(rng, vocab)
                if owner == OWNER and i % 500 == 0:
                    stored.append(p)
                gens.append(
                    {
                        "id": gid,
                        "session_id": sid,
                        "step": step,
                        "tree_key": f"{step:07d}",
                        "mode": "text_to_image",
                        "provider": "local",
                        "model": "sketch",
                        "prompt": p,
                        "params": {},
                        "created_at": at,
                        "completed_at": at,
                    }
                )
                verses_.append(
                    {
                        "id": vid,
                        "song_id": song,
                        "sequence_number": step,
                        "text": v,
                        "created_at": at,
                    }
                )
                kind = "scene" if i % 2 else "character"
                ents.append(
                    {
                        "id": eid,
                        "storyboard_id": board,
                        "kind": kind,
                        "name": e.split()[0],
                        "description": e,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                base = {
                    "owner_id": owner,
                    "created_at": at,
                    "provider": None,
                    "model": None,
                    "job_id": None,
                    "generation_id": None,
                    "verse_id": None,
                    "artifact_id": None,
                    "entity_id": None,
                    "request_id": None,
                }
                entries += [
                    base
                    | {
                        "id": str(uuid.uuid4()),
                        "kind": "step",
                        "container_id": sid,
                        "position": step,
                        "text": p,
                        "provider": "local",
                        "model": "sketch",
                        "generation_id": gid,
                    },
                    base
                    | {
                        "id": str(uuid.uuid4()),
                        "kind": "verse",
                        "container_id": song,
                        "position": step,
                        "text": v,
                        "verse_id": vid,
                    },
                    base
                    | {
                        "id": str(uuid.uuid4()),
                        "kind": kind,
                        "container_id": board,
                        "position": None,
                        "text": f"{e.split()[0]}\n{e}",
                        "entity_id": eid,
                    },
                ]
            _insert(conn, ImageSession, sessions_)
            _insert(conn, ImageGeneration, gens)
            _insert(conn, Song, songs_)
            _insert(conn, SongVerse, verses_)
            _insert(conn, Storyboard, boards)
            _insert(conn, StoryboardEntity, ents)
            _insert(conn, SearchEntry, entries)
    with services.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE"))
    return stored


def queries(rng: random.Random, vocab: list[str], stored: list[str], n: int) -> list[str]:
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            out.append(rng.choice(vocab[:200]))  # a common word
        elif kind == 1:
            out.append(" ".join(rng.sample(vocab[:1000], 2)))
        elif kind == 2:
            out.append(rng.choice(vocab)[:4])  # a prefix, while typing
        else:
            out.append(rng.choice(stored))  # a whole prompt: an exact match
    return out


def measure(url: str, total: int, n: int) -> tuple[float, float]:
    rng = random.Random(15)
    vocab = words(rng)
    with tempfile.TemporaryDirectory() as media:
        settings = Settings(_env_file=None, database_url=url, storage_url=media)  # type: ignore[call-arg]
        services = Services.build(settings)
        try:
            stored = load(services, total, rng, vocab)
            asked = queries(rng, vocab, stored, n + WARMUP)
            times = []
            for i, q in enumerate(asked):
                t = time.perf_counter()
                search.search(services, OWNER, q)
                if i >= WARMUP:
                    times.append((time.perf_counter() - t) * 1000)
        finally:
            services.close()
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        p50_sqlite, p95_sqlite = measure(f"sqlite:///{tmp}/search.db", args.rows, args.queries)
    print(f"SQLite: p50 {p50_sqlite:.1f} ms, p95 {p95_sqlite:.1f} ms")
    pg = "p95_ms_postgres=skipped p50_ms_postgres=skipped"
    problem = reachable()
    if problem is None:
        with scratch_db("bench_search") as url:
            name = url.render_as_string(hide_password=False)
            p50_pg, p95_pg = measure(name, args.rows, args.queries)
        print(
            f"PostgreSQL ({db_url('bench_search').render_as_string(hide_password=True)}): "
            f"p50 {p50_pg:.1f} ms, p95 {p95_pg:.1f} ms"
        )
        pg = f"p95_ms_postgres={p95_pg:.1f} p50_ms_postgres={p50_pg:.1f}"
    else:
        print(f"PostgreSQL unreachable ({problem}); skipped.")
    print(
        f"RESULT p95_ms_sqlite={p95_sqlite:.1f} {pg} p50_ms_sqlite={p50_sqlite:.1f} rows={args.rows}"
    )


if __name__ == "__main__":
    main()
