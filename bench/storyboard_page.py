"""Bench: the Storyboards page's script time with 5 vs 50 scenes and characters, each with 10
earlier images.

The page is run by Streamlit's AppTest (the real app.py, in process) against a scratch SQLite
database; the storyboards are written straight into the database by tests/helpers/bulk.py
(scenes and characters alternate; every entity's newest image is its current one). Times are
the median of 15 reruns after a warm-up, the two storyboards' reruns interleaved. Goal:
ms_50 / ms_5 <= 1.5 (hidden tabs, closed History expanders and other pages of scenes are
neither read nor drawn).

    .venv/bin/python bench/storyboard_page.py [--reruns 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from studio.config import DEMO_OWNER, Settings  # noqa: E402
from studio.services import Services  # noqa: E402
from tests.helpers.bulk import storyboard_with_history  # noqa: E402

HISTORY = 10


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._count)

    def _count(self, *args: object, **kwargs: object) -> None:
        self.count += 1


def page(storyboard_id: str) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.switch_page("pages/storyboards.py")
    app.query_params["storyboard"] = storyboard_id
    app.run()
    if app.exception:
        raise SystemExit(f"the page failed: {app.exception}")
    app.run()  # warm-up (caches, media)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reruns", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            STUDIO_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            STUDIO_STORAGE_URL=f"{tmp}/media",
            STUDIO_EMBEDDED_WORKER="false",
        )
        os.chdir(ROOT)
        services = Services.build(Settings(_env_file=None))  # type: ignore[call-arg]
        small = storyboard_with_history(services, DEMO_OWNER, 5, HISTORY, title="five")
        large = storyboard_with_history(services, DEMO_OWNER, 50, HISTORY, title="fifty")
        apps = {5: page(small), 50: page(large)}
        counter = StatementCounter()
        times: dict[int, list[float]] = {5: [], 50: []}
        statements: dict[int, int] = {5: 0, 50: 0}
        for _ in range(args.reruns):
            for n, app in apps.items():
                before = counter.count
                start = time.perf_counter()
                app.run()
                times[n].append((time.perf_counter() - start) * 1000)
                statements[n] = max(statements[n], counter.count - before)
                if app.exception:
                    raise SystemExit(f"the page failed: {app.exception}")
    ms_5, ms_50 = statistics.median(times[5]), statistics.median(times[50])
    print(
        f"inputs: two storyboards of 5 and 50 scenes and characters, {HISTORY} images each "
        f"(the newest current), the Scenes tab open; median of {args.reruns} reruns"
    )
    print(
        f"storyboards page rerun: 5 entities {ms_5:.1f} ms ({statements[5]} statements), "
        f"50 entities {ms_50:.1f} ms ({statements[50]} statements)"
    )
    print(f"RESULT ms_5={ms_5:.1f} ms_50={ms_50:.1f} growth={ms_50 / ms_5:.2f}")


if __name__ == "__main__":
    main()
