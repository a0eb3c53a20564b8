"""Home and Jobs pages through Streamlit's AppTest."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from db.schema import Job
from db.types import utcnow
from studio.services import Services


def test_home_shows_name_and_configuration(app: AppTest) -> None:
    app.run()
    assert not app.exception
    assert app.title[0].value == "Image Studio"
    text = " ".join(m.value for m in app.markdown)
    assert "Offline renderer" in text and "OPENAI_API_KEY is not set" in text
    assert any("SQLite" in str(m.value) for m in app.metric)


def test_home_says_per_model_family_what_is_on_and_what_is_missing(
    app: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Gemini API key alone turns the Gemini image models on, not Imagen and Veo."""
    for name in ("GOOGLE_VERTEX_API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-gemini")
    app.run()
    assert not app.exception
    [google] = [m.value for m in app.markdown if "**Google**" in m.value]
    lines = google.split("\n")
    assert lines[0].startswith(
        ":green[:material/check_circle:] **Google** — Gemini image models on"
    )
    assert (
        "**Gemini image models** — Gemini API key set (GOOGLE_API_KEY) · Gemini 2.5 Flash"
        in lines[1]
    )
    assert lines[2].startswith(
        "- :gray[:material/block:] **Imagen and Veo** — Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT"
    )
    assert "the Gemini API key in GOOGLE_API_KEY does not work on Vertex AI" in lines[2]


def test_jobs_page_process_next_and_requeue(app: AppTest, app_services: Services) -> None:
    queue = app_services.queue
    done = queue.enqueue("noop", label="first no-op")
    broken = queue.enqueue("no_such_kind", label="broken job")
    app.switch_page("pages/jobs.py").run()
    assert not app.exception
    assert app.title[0].value == "Jobs"

    app.button(key="process_next").click().run()
    assert queue.get(done.id).status == "completed"
    table = app.dataframe[0].value
    assert "first no-op" in set(table["Job"]) and "completed" in set(table["Status"])

    app.button(key="process_next").click().run()
    failed = queue.get(broken.id)
    assert failed.status == "failed" and "No worker knows" in failed.last_error

    app.button(key="process_next").click().run()
    assert any("Nothing to do" in str(e.label) for e in app.get("expandable")) or any(
        "no job that can run now" in m.value for m in app.markdown
    )

    app.selectbox(key="job_choice").set_value(broken.id).run()
    app.button(key="requeue").click().run()
    again = queue.get(broken.id)
    assert again.status == "pending" and again.retry_count == 1
    assert not app.exception
    # the demo's local user did it, and the table says so
    assert (again.editor_action, again.editor_id) == ("requeued", "local")
    table = app.dataframe[0].value
    actions = dict(zip(table["Job"], table["Last action"], strict=True))
    assert actions["broken job"] == "requeued by Local user"


def test_jobs_page_shows_what_a_waiting_job_waits_on(app: AppTest, app_services: Services) -> None:
    queue = app_services.queue
    queue.enqueue("verse", concurrency_key="song:x", ordered=True, sequence=1, label="verse 1")
    queue.enqueue("verse", concurrency_key="song:x", ordered=True, sequence=2, label="verse 2")
    job = queue.claim("w")
    queue.fail(job, error_class="permanent", message="refused")
    app.switch_page("pages/jobs.py").run()
    table = app.dataframe[0].value
    waiting = dict(zip(table["Job"], table["Waiting on"], strict=True))
    assert waiting["verse 2"] == "after verse 1 (failed: requeue or skip it)"


def test_jobs_page_filters(app: AppTest, app_services: Services) -> None:
    app_services.queue.enqueue("noop", label="a")
    app_services.queue.enqueue("other", label="b")
    app.switch_page("pages/jobs.py").run()
    app.multiselect(key="filter_kinds").set_value(["other"]).run()
    assert list(app.dataframe[0].value["Job"]) == ["b"]


def test_jobs_page_empty_state(app: AppTest) -> None:
    app.switch_page("pages/jobs.py").run()
    assert any("No jobs yet" in i.value for i in app.info)


def test_monitoring_page_shows_figures(app: AppTest, app_services: Services) -> None:
    app.switch_page("pages/monitoring.py").run()
    assert not app.exception
    assert any("No work in this period yet" in i.value for i in app.info)
    queue = app_services.queue
    queue.enqueue("noop", label="a no-op")
    job = queue.claim("w")
    queue.finish(job)
    app.run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Jobs"] == "1" and metrics["Success rate"] == "100%"
    table = app.dataframe[0].value
    assert list(table["Kind"]) == ["No-op check"] and list(table["Completed"]) == [1]


def test_monitoring_draws_a_single_day_of_data(app: AppTest, app_services: Services) -> None:
    """One day of finished work: the completion-time lines have a point to show (a line
    through one day draws nothing)."""
    import json

    queue = app_services.queue
    queue.enqueue("session_generation", label="a step")
    queue.finish(queue.claim("w"))
    app.switch_page("pages/monitoring.py").run()
    assert not app.exception
    assert list(app.dataframe[0].value["Kind"]) == ["Session step"]
    specs = [json.loads(c.proto.spec) for c in app.get("vega_lite_chart")]
    lines = [s for s in specs if "line" in json.dumps(s.get("mark", ""))]
    assert lines, "the completion-time chart is drawn"
    assert all(s["mark"].get("point") for s in lines), "each day is a visible point"


def test_jobs_page_shows_a_resumed_provider_operation(app: AppTest, app_services: Services) -> None:
    """A job that took up an operation an earlier attempt started says so."""
    queue = app_services.queue
    job = queue.enqueue("noop", label="video of the quay")
    first = queue.claim("w1")
    queue.record_operation(
        first, "projects/p/locations/l/publishers/google/models/veo/operations/7"
    )
    with app_services.db() as db:  # the worker died; its lease ran out
        db.execute(sa.update(Job).where(Job.id == job.id).values(lease_expires_at=utcnow()))
    queue.reap()
    again = queue.claim("w2")
    assert again.provider_operation and again.provider_operation.endswith("/operations/7")
    app.switch_page("pages/jobs.py").run()
    assert not app.exception
    table = app.dataframe[0].value
    row = table[table["Job"] == "video of the quay"].iloc[0]
    assert row["Provider operation"] == "resumed provider operation"
