"""What browser tests and browser benchmarks share: waiting for Streamlit to finish drawing,
waiting for an image to be decoded on screen, counting the reruns a page asks for."""

from __future__ import annotations

import time
from typing import Any


def settle(page: Any, timeout_s: float = 30.0) -> None:
    """Wait until the page has finished a rerun: while Streamlit reruns it keeps the previous
    elements on screen marked `data-stale="true"`, so one label can briefly appear twice."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if page.locator('[data-stale="true"]').count() == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the page kept rerunning")


def wait_for_image(page: Any, name: str, timeout_s: float = 60.0) -> None:
    """Until an image whose text alternative starts with `name` is on screen and decoded."""
    image = page.get_by_role("img", name=name, exact=False).first
    image.wait_for(state="visible", timeout=timeout_s * 1000)
    image.evaluate(
        "img => img.complete && img.naturalWidth > 0 ? true"
        " : new Promise(ok => img.addEventListener('load', () => ok(true), {once: true}))"
    )


class Reruns:
    """Counts the reruns a page asks the server for: each `rerun_script` message its
    websocket sends (a click, a changed widget, a fragment's tick)."""

    def __init__(self, page: Any) -> None:
        self.sent: list[str] = []  # the fragment id of each, "" for a whole page rerun
        page.on("websocket", lambda ws: ws.on("framesent", self._sent))

    def _sent(self, payload: object) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if not isinstance(payload, bytes | bytearray):
            return
        msg = BackMsg()
        msg.ParseFromString(bytes(payload))
        if msg.WhichOneof("type") == "rerun_script":
            self.sent.append(msg.rerun_script.fragment_id)
