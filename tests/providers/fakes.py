"""Fake provider servers on 127.0.0.1 that speak the wire formats of /work/shared/PROVIDERS.md.

The real `openai` and `google-genai` SDKs are pointed at these, so the tests exercise the SDKs'
own request building, response parsing and exceptions. Every request is recorded (method, path,
lower-cased headers, raw body, parsed JSON or multipart parts). Canned replies (status, body,
headers such as Retry-After, and a delay for timeouts) can be queued; otherwise each fake answers
with a valid success.

Checked against openai 3.52 and google-genai 3.4 (differences from / additions to PROVIDERS.md):
- Vertex express mode (`vertexai=True`, api key, custom base_url): `:predict` and
  `:predictLongRunning` go to `/v1beta1/publishers/google/models/<m>:<verb>` with no
  `projects/...` prefix, but `operations.get` POSTs `:fetchPredictOperation` to the model path
  taken from the operation name: `/v1beta1/projects/p/locations/l/publishers/google/models/<m>`.
- Gemini request parts mix spellings: `{"inlineData": {"data": ..., "mime_type": ...}}`.
- Veo's source image is `instances[0].image = {"bytesBase64Encoded", "mimeType"}` (standard
  base64; both alphabets are accepted here).
- google-genai raises httpx2.ReadTimeout / ConnectError straight from the transport on a timeout
  or refused connection (not a genai APIError), and sends `X-Server-Timeout` when a timeout is set.
- `generate_images` emits a deprecation ExperimentalWarning in 3.4.
- openai's APIStatusError keeps `body` as the inner `error` object; `message` is
  "Error code: N - <message>".
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


def gemini_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten a generateContent body to [{"role", "text"} | {"role", "mime_type", "data"}].

    Accepts inlineData/inline_data and mimeType/mime_type, and URL-safe or standard base64.
    """
    out: list[dict[str, Any]] = []
    for content in body.get("contents", []):
        role = content.get("role", "user")
        for part in content.get("parts", []):
            inline = part.get("inlineData", part.get("inline_data"))
            if inline is not None:
                mime = inline.get("mimeType", inline.get("mime_type"))
                out.append(
                    {"role": role, "mime_type": mime, "data": decode_b64_any(inline["data"])}
                )
            elif "text" in part:
                out.append({"role": role, "text": part["text"]})
    return out


class FakeServer:
    """A threaded HTTP server recording requests; queued replies first, then `default()`."""

    def __init__(self, api_key: str = "test") -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
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
        """Answer the next matching requests (path contains `path`, or any) with `replies`."""
        with self._lock:
            self._queue.extend((path, r) for r in replies)

    def _next(self, req: Recorded) -> Reply:
        with self._lock:
            for i, (path, reply) in enumerate(self._queue):
                if path is None or path in req.path:
                    del self._queue[i]
                    return reply
        return self.default(req)

    def default(self, req: Recorded) -> Reply:  # overridden per provider
        return Reply(404, {"error": {"message": f"no route {req.path}"}})

    def last(self, path: str | None = None) -> Recorded:
        return [r for r in self.requests if path is None or path in r.path][-1]

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


# --- error bodies ---------------------------------------------------------------------------


def openai_error(
    status: int,
    message: str,
    code: str | None = None,
    type_: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
    delay: float = 0.0,
) -> Reply:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return Reply(status, body, headers or {}, delay)


def openrouter_error(
    status: int, message: str, metadata: dict[str, Any] | None = None, **kw: Any
) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message}
    if metadata is not None:
        error["metadata"] = metadata
    return Reply(status, {"error": error}, **kw)


GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def google_error(
    status: int, message: str, details: list[dict[str, Any]] | None = None, **kw: Any
) -> Reply:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": GOOGLE_STATUS.get(status, "UNKNOWN"),
    }
    if details is not None:
        error["details"] = details
    return Reply(status, {"error": error}, **kw)


# --- OpenAI Images -------------------------------------------------------------------------

OPENAI_USAGE = {
    "input_tokens": 50,
    "input_tokens_details": {"image_tokens": 40, "text_tokens": 10},
    "output_tokens": 50,
    "output_tokens_details": {"image_tokens": 50},
    "total_tokens": 100,
}


class OpenAIFake(FakeServer):
    """`POST /v1/images/generations` (JSON) and `POST /v1/images/edits` (multipart)."""

    image = FAKE_PNG

    def default(self, req: Recorded) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return openai_error(401, "Incorrect API key provided.", "invalid_api_key")
        if req.path == "/v1/images/generations":
            fields = req.json or {}
        elif req.path == "/v1/images/edits":
            if not (req.parts.get("image") or req.parts.get("image[]")):
                return openai_error(400, "Missing required parameter: 'image'.")
            fields = {k: v[0].text for k, v in req.parts.items() if v[0].filename is None}
        else:
            return super().default(req)
        if not fields.get("prompt"):
            return openai_error(400, "Missing required parameter: 'prompt'.")
        n = int(fields.get("n") or 1)
        body = {
            "created": 1,
            "data": [{"b64_json": b64(self.image)} for _ in range(n)],
            "output_format": "png",
            "size": fields.get("size", "1024x1024"),
            "quality": fields.get("quality", "high"),
            "usage": OPENAI_USAGE,
        }
        return Reply(200, body, {"x-request-id": "req_fake_1"})


# --- OpenRouter ----------------------------------------------------------------------------


def chat_completion(
    text: str | None = "Here is your image.",
    images: list[bytes] | None = None,
    finish_reason: str = "stop",
    native_finish_reason: str | None = "STOP",
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if images:
        message["images"] = [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(i)}"}}
            for i in images
        ]
    return {
        "id": "gen-fake-1",
        "object": "chat.completion",
        "created": 1,
        "model": "google/gemini-2.5-flash-image",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "native_finish_reason": native_finish_reason,
                "message": message,
            }
        ],
        "usage": usage or {"prompt_tokens": 20, "completion_tokens": 1300, "total_tokens": 1320},
    }


class OpenRouterFake(FakeServer):
    """`POST /api/v1/chat/completions` answering with `message.images` data URLs."""

    image = FAKE_PNG

    def default(self, req: Recorded) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return openrouter_error(401, "No auth credentials found")
        if req.path != "/api/v1/chat/completions":
            return super().default(req)
        body = req.json or {}
        if not body.get("messages") or "image" not in (body.get("modalities") or []):
            return openrouter_error(400, "messages and modalities [image, text] are required")
        return Reply(200, chat_completion(images=[self.image]))


# --- Google --------------------------------------------------------------------------------


def gemini_response(
    text: str | None = "A picture.",
    images: list[bytes] | None = None,
    finish_reason: str = "STOP",
    prompt_feedback: dict[str, Any] | None = None,
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if text:
        parts.append({"text": text})
    for image in images or []:
        parts.append({"inlineData": {"mimeType": "image/png", "data": b64(image)}})
    body: dict[str, Any] = {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": finish_reason}
        ],
        "usageMetadata": {
            "promptTokenCount": 10,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 1300,
        },
        "responseId": "resp-fake-1",
    }
    if prompt_feedback is not None:
        body = {"promptFeedback": prompt_feedback, "usageMetadata": body["usageMetadata"]}
    return body


class GoogleFake(FakeServer):
    """generateContent (Gemini API), :predict (Imagen) and Veo long-running operations."""

    image = FAKE_PNG
    video = FAKE_MP4

    def __init__(self, api_key: str = "test", pending_polls: int = 0) -> None:
        super().__init__(api_key)
        self.pending_polls = pending_polls  # fetchPredictOperation answers "not done" this often
        self.operations: dict[str, int] = {}
        self._ids = itertools.count(1)

    def default(self, req: Recorded) -> Reply:
        if req.headers.get("x-goog-api-key") != self.api_key:
            return google_error(400, "API key not valid. Please pass a valid API key.")
        body = req.json or {}
        path = req.path
        if path.endswith(":generateContent"):
            try:
                gemini_parts(body)
            except (KeyError, ValueError, binascii.Error) as exc:
                return google_error(400, f"Invalid inline data: {exc}")
            return Reply(200, gemini_response(images=[self.image]))
        if path.endswith(":predict"):
            count = int(body.get("parameters", {}).get("sampleCount", 1))
            prediction = {"bytesBase64Encoded": b64(self.image), "mimeType": "image/png"}
            return Reply(200, {"predictions": [prediction] * count})
        if path.endswith(":predictLongRunning"):
            model = path.rsplit("/", 1)[1].split(":")[0]
            name = (
                f"projects/p/locations/l/publishers/google/models/{model}"
                f"/operations/op-{next(self._ids)}"
            )
            with self._lock:
                self.operations[name] = self.pending_polls
            return Reply(200, {"name": name})
        if path.endswith(":fetchPredictOperation"):
            name = body.get("operationName", "")
            with self._lock:
                if name not in self.operations:
                    return google_error(404, f"Operation {name} not found.")
                remaining = self.operations[name]
                self.operations[name] = remaining - 1
            if remaining > 0:
                return Reply(200, {"name": name})
            video = {"bytesBase64Encoded": b64(self.video), "mimeType": "video/mp4"}
            return Reply(200, {"name": name, "done": True, "response": {"videos": [video]}})
        return super().default(req)
