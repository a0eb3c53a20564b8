"""The HTTP server every fake provider builds on: records requests, validates them, answers.

Each request is recorded (method, path, lower-cased headers, raw body, parsed JSON or multipart
parts). `check(req)` (per provider) refuses an invalid request the way the real service does;
a valid one gets the next queued canned reply (status, body, headers such as Retry-After, a
delay for timeouts) or else the provider's `default(req)` success.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image


def png(size: tuple[int, int] = (8, 8), color: tuple[int, ...] = (200, 30, 30)) -> bytes:
    """A small solid PNG."""
    buf = io.BytesIO()
    Image.new("RGB" if len(color) == 3 else "RGBA", size, color).save(buf, format="PNG")
    return buf.getvalue()


FAKE_PNG = png((8, 8), (10, 200, 10))  # what every fake returns as "the generated image"
FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42fake-video-bytes"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decode_b64_any(text: str) -> bytes:
    """Decode standard or URL-safe base64 (google-genai sends URL-safe), padding optional."""
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


@dataclass
class Part:
    """One multipart/form-data part."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any = None
    parts: dict[str, list[Part]] = field(default_factory=dict)

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def field(self, name: str) -> str | None:
        """A multipart text field."""
        return self.parts[name][0].text if name in self.parts else None


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON, bytes → as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (for client timeouts)


def parse_multipart(body: bytes, content_type: str) -> dict[str, list[Part]]:
    """A strict, byte-exact multipart/form-data parser (no line-ending normalisation)."""
    boundary = None
    for item in content_type.split(";"):
        key, _, value = item.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise ValueError("multipart without boundary")
    delimiter = b"--" + boundary.encode()
    parts: dict[str, list[Part]] = {}
    chunks = body.split(delimiter)
    if chunks[-1].strip() != b"--":
        raise ValueError("multipart not terminated")
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise ValueError("malformed multipart chunk")
        head, sep, data = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without headers")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params = {}
        for item in headers.get("content-disposition", "").split(";")[1:]:
            key, _, value = item.strip().partition("=")
            params[key] = value.strip('"')
        part = Part(params["name"], data, params.get("filename"), headers.get("content-type"))
        parts.setdefault(part.name, []).append(part)
    return parts


class FakeServer:
    """A threaded HTTP server: records, validates (`check`), then queued replies or `default`."""

    def __init__(self, api_key: str = "test") -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.refused: list[tuple[Recorded, Reply]] = []  # what `check` turned away
        self._queue: list[tuple[str | None, Reply]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # --- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- canned replies ----------------------------------------------------------------
    def enqueue(self, *replies: Reply, path: str | None = None) -> None:
        """Answer the next valid matching requests (path contains `path`, or any) with `replies`."""
        with self._lock:
            self._queue.extend((path, r) for r in replies)

    def _next(self, req: Recorded) -> Reply:
        refusal = self.check(req)
        if refusal is not None:
            with self._lock:
                self.refused.append((req, refusal))
            return refusal
        with self._lock:
            for i, (path, reply) in enumerate(self._queue):
                if path is None or path in req.path:
                    del self._queue[i]
                    return reply
        return self.default(req)

    def check(self, req: Recorded) -> Reply | None:  # overridden per provider
        """The service's refusal of an invalid request, or None when it is valid."""
        return None

    def default(self, req: Recorded) -> Reply:  # overridden per provider
        return Reply(404, {"error": {"message": f"no route {req.path}"}})

    def last(self, path: str | None = None) -> Recorded:
        return [r for r in self.requests if path is None or path in r.path][-1]

    def count(self, path: str) -> int:
        """How many requests reached a path containing `path` (refused ones included)."""
        with self._lock:
            return sum(1 for r in self.requests if path in r.path)

    # --- HTTP --------------------------------------------------------------------------
    def _record(self, handler: BaseHTTPRequestHandler) -> Recorded:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        req = Recorded(handler.command, handler.path, headers, body)
        ctype = headers.get("content-type", "")
        if ctype.startswith("application/json") and body:
            req.json = json.loads(body)
        elif ctype.startswith("multipart/form-data"):
            req.parts = parse_multipart(body, ctype)
        with self._lock:
            self.requests.append(req)
        return req

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                try:
                    req = fake._record(self)
                    reply = fake._next(req)
                except Exception as exc:  # a malformed request is the test's answer
                    reply = Reply(400, {"error": {"message": f"fake rejected request: {exc}"}})
                if reply.delay:
                    time.sleep(reply.delay)
                data = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else json.dumps(reply.body if reply.body is not None else {}).encode()
                )
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler
