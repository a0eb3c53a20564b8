"""Bench: the Session page's script time with 10 vs 1,000 generations, the SQL statements one
rerun issues, and the latency of submitting the next-step form.

The page is run by Streamlit's AppTest (the real app.py, in process) against a scratch SQLite
database; every generation succeeded with an output image and the tree branches every 7 steps.
Times are the median of 15 reruns after a warm-up. Goals: ms_1000 / ms_10 <= 2 (the tree is
paged and the page's queries do not grow with the tree beyond loading its rows), statements
per rerun <= 12, and the form submission's p95 within 3× a plain rerun.
"""

from __future__ import annotations

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

from db.schema import ImageAsset, ImageGeneration, ImageSession  # noqa: E402
from studio import assets, imaging  # noqa: E402
from studio.config import DEMO_OWNER, Settings  # noqa: E402
from studio.providers.base import ImageRequest  # noqa: E402
from studio.providers.local import LocalProvider  # noqa: E402
from studio.services import Services  # noqa: E402

RERUNS = 15
SUBMITS = 20


def build(services: Services, steps: int) -> str:
    """A session of `steps` succeeded generations sharing one stored 512² image."""
    png = (
        LocalProvider()
        .generate_image(
            "sketch",
            ImageRequest(mode="text_to_image", prompt="bench", width=512, height=512, seed=1),
        )
        .images[0]
    )
    limits = imaging.ImageLimits.from_settings(services.settings)
    prepared = assets.prepare_image(png, limits)
    bucket = services.settings.sessions_bucket
    key, thumb = assets.store_prepared(services.storage, prepared, bucket)
    with services.db() as db:
        session = ImageSession(
            owner_id=DEMO_OWNER, title=f"bench {steps}", provider="local", model="sketch"
        )
        db.add(session)
        db.flush()
        previous: list[str] = []
        for step in range(1, steps + 1):
            parent = None
            if previous:
                parent = previous[-7] if step % 7 == 0 and len(previous) >= 7 else previous[-1]
            gen = ImageGeneration(
                session_id=session.id,
                parent_generation_id=parent,
                step=step,
                status="succeeded",
                mode="text_to_image" if parent is None else "image_to_image",
                provider="local",
                model="sketch",
                prompt=f"step {step} of the bench",
                params={"width": 512, "height": 512, "seed": step, "strength": 0.6, "n": 1},
                cost_estimate=0.0,
                cost_actual=0.0,
                duration_ms=120,
            )
            db.add(gen)
            db.flush()
            db.add(
                assets.asset_row(
                    prepared,
                    key=key,
                    thumbnail_key=thumb,
                    owner_id=DEMO_OWNER,
                    role="output",
                    bucket=bucket,
                    storage_name=services.storage.name,
                    session_id=session.id,
                    generation_id=gen.id,
                )
            )
            previous.append(gen.id)
        db.flush()
        session.thumbnail_asset_id = db.scalar(
            sa.select(ImageAsset.id).where(ImageAsset.generation_id == previous[-1])
        )
        return session.id


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
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            STUDIO_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            STUDIO_STORAGE_URL=f"{tmp}/media",
            STUDIO_EMBEDDED_WORKER="false",
            STUDIO_GENERATIONS_PER_HOUR="100000",  # the bench makes 1,030 steps at once
        )
        os.chdir(ROOT)
        services = Services.build(Settings(_env_file=None))  # type: ignore[call-arg]
        small, large = build(services, 10), build(services, 1000)
        counter = StatementCounter()
        ms_10, st_10 = rerun_ms(page(small), counter)
        ms_1000, st_1000 = rerun_ms(page(large), counter)

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
        f"({st_10} statements), 1000 steps {ms_1000:.1f} ms ({st_1000} statements)"
    )
    print(
        f"next-step submit over {SUBMITS} submissions (click Generate → step and job committed "
        f"→ the page rerun that shows it): p95 {p95:.1f} ms"
    )
    print(
        f"RESULT ms_10={ms_10:.1f} ms_1000={ms_1000:.1f} growth={ms_1000 / ms_10:.2f} "
        f"statements_10={st_10} statements_1000={st_1000} submit_p95_ms={p95:.1f} "
        f"submit_vs_rerun={p95 / ms_10:.2f}"
    )


if __name__ == "__main__":
    main()
