"""The Session page's lineage tools through AppTest: what changed from the parent, cost and
time to here, the session's totals, the mask integrity badge, and replaying a branch."""

from __future__ import annotations

import io

import numpy as np
import sqlalchemy as sa
from PIL import Image
from streamlit.testing.v1 import AppTest

from db.schema import ImageGeneration
from studio import sessions
from studio.config import DEMO_OWNER
from studio.jobs.worker import process_next
from studio.services import Services
from studio.sessions import GenerationParams
from tests.helpers.apptest import expander_labels, rendered


def _mask() -> bytes:
    arr = np.zeros((64, 64), np.uint8)
    arr[:, :32] = 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def _inpainted(services: Services) -> tuple[str, str]:
    session, first = sessions.create_session(
        services,
        DEMO_OWNER,
        GenerationParams(prompt="a quiet harbour", width=64, height=64),
        idempotency_key="a",
    )
    while process_next(services, "t") is not None:
        pass
    gen = sessions.iterate(
        services,
        DEMO_OWNER,
        session.id,
        first.id,
        GenerationParams(prompt="a quiet harbour with a red boat", width=64, height=64),
        idempotency_key="b",
        mask=_mask(),
    )
    while process_next(services, "t") is not None:
        pass
    return session.id, gen.id


def _all_text(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [str(b.proto.label) for b in app.get("badge")]
    return rendered("\n".join(str(p) for p in parts))


def test_lineage_on_the_session_page(app: AppTest, app_services: Services) -> None:
    sid, gen_id = _inpainted(app_services)
    app.query_params["session"] = sid
    app.switch_page("pages/session.py").run()
    assert not app.exception
    text = _all_text(app)
    assert "Session total free" in text and "most expensive branch" in text
    assert "to here: free" in text
    assert "mask held: 0 pixels changed outside" in text
    assert "What changed from step 1" in " ".join(expander_labels(app))
    assert "**+with**" in text and "**+red**" in text and "**+boat**" in text

    app.toggle(key=f"replay_open:{sid}").set_value(True).run()
    assert "Replays 2 steps (step 1 → step 2)" in _all_text(app)
    next(b for b in app.button if b.label == "Replay 2 steps").click().run()
    assert not app.exception
    with app_services.db() as db:
        steps = db.scalars(sa.select(ImageGeneration).order_by(ImageGeneration.step)).all()
        assert [g.step for g in steps] == [1, 2, 3, 4]
        assert steps[3].parent_generation_id == steps[2].id and steps[3].mode == "inpaint"
