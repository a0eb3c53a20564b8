"""'Process next job' on the Jobs page when Streamlit interrupts it: a click or a closed tab
raises Streamlit's rerun or stop exception while the page draws a stage."""

from __future__ import annotations

import pytest
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData

from studio.jobs.queue import ClaimedJob
from studio.services import Services
from studio.ui.admin.jobs import run_inline


@pytest.mark.parametrize(
    "interruption", [RerunException(RerunData()), StopException()], ids=["click", "tab-closed"]
)
def test_an_interrupted_page_finishes_the_job_then_goes(
    app_services: Services, interruption: BaseException
) -> None:
    job = app_services.queue.enqueue("noop", label="paid work")
    drawn: list[str] = []

    def show(_job: ClaimedJob, stage: str) -> None:
        drawn.append(stage)
        raise interruption

    with pytest.raises(type(interruption)):
        run_inline(app_services, show)
    row = app_services.queue.get(job.id)
    assert row.status == "completed" and row.lease_token is None
    assert row.attempts == 1, "it ran once"
    assert drawn == ["processing"], "nothing more is drawn on a page that is going away"
