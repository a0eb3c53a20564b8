"""Bench: the Session page's script time with 10 vs 10,000 steps, the SQL statements one
rerun issues, and the latency of submitting the next-step form.

The page is run by Streamlit's AppTest (the real app.py, in process) against a scratch SQLite
database; every step finished with an output image and the tree branches every 7 steps (the
sessions are written straight into the database by tests/helpers/bulk.py). Times are the median
of 15 reruns after a warm-up. Goals: ms_10000 / ms_10 <= 1.25 (the page reads the selected step,
its ancestors and one page of the history, never every step) and at most 8 statements per
rerun at both sizes; the form submission's p95 within 3x a plain rerun.

    .venv/bin/python bench/session_page.py [--reruns 15 --submits 20]
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

from db.schema import ImageGeneration  # noqa: E402
from studio.config import DEMO_OWNER, Settings  # noqa: E402
from studio.services import Services  # noqa: E402
from tests.helpers.bulk import produced_session  # noqa: E402

RERUNS = 15
SUBMITS = 20


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self._count)

    def _count(self, *args: object, **kwargs: object) -> None:
        self.count += 1


def page(session_id: str) -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.query_params["session"] = session_id
    app.switch_page("pages/session.py").run()
    if app.exception:
        raise SystemExit(f"the page failed: {app.exception}")
    return app


def rerun_ms(app: AppTest, counter: StatementCounter) -> tuple[float, int]:
    app.run()  # warm-up (caches, media)
    times, statements = [], []
    for _ in range(RERUNS):
        before = counter.count
        start = time.perf_counter()
        app.run()
        times.append((time.perf_counter() - start) * 1000)
        statements.append(counter.count - before)
    return statistics.median(times), max(statements)


def main() -> None:
    global RERUNS, SUBMITS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reruns", type=int, default=RERUNS)
    parser.add_argument("--submits", type=int, default=SUBMITS)
    args = parser.parse_args()
    RERUNS, SUBMITS = args.reruns, args.submits
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            STUDIO_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            STUDIO_STORAGE_URL=f"{tmp}/media",
            STUDIO_EMBEDDED_WORKER="false",
            STUDIO_GENERATIONS_PER_HOUR="100000",
        )
        os.chdir(ROOT)
        services = Services.build(Settings(_env_file=None))  # type: ignore[call-arg]
        small = produced_session(services, DEMO_OWNER, 10, title="bench 10")
        large = produced_session(services, DEMO_OWNER, 10_000, title="bench 10000")
        counter = StatementCounter()
        ms_10, st_10 = rerun_ms(page(small), counter)
        ms_10000, st_10000 = rerun_ms(page(large), counter)

        app = page(small)
        prefix = f"next-{small}"
        submits = []
        for i in range(SUBMITS):
            app.text_area(key=f"{prefix}:prompt").set_value(f"variation number {i}")
            start = time.perf_counter()
            app.button(key=f"FormSubmitter:{prefix}/form-Generate").click().run()
            submits.append((time.perf_counter() - start) * 1000)
        made = (
            sa.select(sa.func.count())
            .select_from(ImageGeneration)
            .where(ImageGeneration.session_id == small)
        )
        with services.db() as db:
            assert db.scalar(made) == 10 + SUBMITS, "every submission made one step"
        p95 = statistics.quantiles(submits, n=20)[-1]
    print(
        f"session page rerun, median of {RERUNS}: 10 steps {ms_10:.1f} ms "
        f"({st_10} statements), 10000 steps {ms_10000:.1f} ms ({st_10000} statements)"
    )
    print(
        f"next-step submit over {SUBMITS} submissions (click Generate → step and job committed "
        f"→ the page rerun that shows it): p95 {p95:.1f} ms"
    )
    print(
        f"RESULT ms_10={ms_10:.1f} ms_10000={ms_10000:.1f} growth={ms_10000 / ms_10:.2f} "
        f"statements_10={st_10} statements_10000={st_10000} submit_p95_ms={p95:.1f} "
        f"submit_vs_rerun={p95 / ms_10:.2f}"
    )


if __name__ == "__main__":
    main()
