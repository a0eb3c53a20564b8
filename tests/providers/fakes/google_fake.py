"""A fake of Google's two hosts: the Gemini API and Vertex AI (Imagen, Veo), plus a token
endpoint for application default credentials. Checked against google-genai 3.6.1.

Credentials, as the real hosts take them:
- Gemini API (`/v1beta/models/...`): `x-goog-api-key` = the Gemini API key only. Any other key
  (a Vertex express key) → 400 API_KEY_INVALID; none → 403.
- Vertex express mode (`/v1beta1/publishers/google/models/<m>:<verb>`): `x-goog-api-key` = the
  Vertex express key only; another key (a Gemini API key) → 401 UNAUTHENTICATED "API keys are
  not supported by this API..." with reason CREDENTIALS_MISSING (python-genai issue #1404).
- Vertex with a project (`/v1beta1/projects/<p>/locations/<l>/...`): `Authorization: Bearer`
  with the token the `/token` endpoint hands out for the ADC file; an API key there is refused
  the same way, except on `:fetchPredictOperation`, where google-genai's express mode polls the
  operation's own (project) path with its key.
Requests are checked against the published rules (REST references of generateContent, Imagen
and Veo on Vertex): unknown request fields → 400 "Unknown name"; unknown models → 404;
Gemini 3 image models refuse a replayed model-role image part without its `thoughtSignature`
(400 "Image part is missing a thought_signature ..."); Imagen 4 refuses `negativePrompt`, and
explains filtered images (`raiFilteredReason`) only when `includeRaiReason` is set (otherwise a
filtered image is simply missing); Veo 3 needs `generateAudio`, takes 4/6/8 s, and 1080p/4k
only at 8 s. `submissions` records every accepted `:predictLongRunning`.
SDK behaviour noted: express-mode `:predict`/`:predictLongRunning` have no `projects/` prefix;
request parts mix spellings (`inlineData` with `mime_type`) and URL-safe base64; a timeout or
refused connection raises httpx2 errors straight from the transport.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.providers.fakes.google_wire import (
    GEMINI_IMAGE_MODELS,
    IMAGEN_ASPECTS,
    IMAGEN_MODELS,
    VEO_MODELS,
    bad_request,
    check_generate_content,
    error_info,
    gemini_parts,
    gemini_response,
    google_error,
    key_invalid,
    keys_not_supported,
)
from tests.providers.fakes.server import FAKE_MP4, FAKE_PNG, FakeServer, Recorded, Reply, b64

__all__ = ["GEMINI_IMAGE_MODELS", "IMAGEN_MODELS", "VEO_MODELS", "GoogleFake"]


class GoogleFake(FakeServer):
    """generateContent (Gemini API), :predict (Imagen) and Veo long-running operations (Vertex)."""

    image = FAKE_PNG
    video = FAKE_MP4

    def __init__(
        self, api_key: str = "test", *, vertex_key: str = "vertex-test", adc_token: str = "ya29.fake-token",
        project: str = "p", location: str = "us-central1", pending_polls: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(api_key)
        self.vertex_key, self.adc_token = vertex_key, adc_token
        self.project, self.location = project, location
        self.pending_polls = pending_polls  # fetchPredictOperation answers "not done" this often
        self.rai_filtered = 0  # the next Imagen call has this many images filtered
        self.operations: dict[str, int] = {}
        self.submissions: list[Recorded] = []
        self._ids = itertools.count(1)

    # --- credentials --------------------------------------------------------------------------
    def _auth(self, req: Recorded) -> Reply | None:
        key = req.headers.get("x-goog-api-key")
        bearer = req.headers.get("authorization", "").removeprefix("Bearer ")
        route = req.route
        if route.startswith("/v1beta/"):  # the Gemini API
            if key is None:
                return google_error(
                    403,
                    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                )
            return None if key == self.api_key else key_invalid()
        if route.startswith("/v1beta1/projects/"):
            m = re.match(r"/v1beta1/projects/([^/]+)/locations/([^/]+)/", route)
            if key is not None:
                polling = route.endswith(":fetchPredictOperation") and key == self.vertex_key
                return None if polling else keys_not_supported()
            if bearer != self.adc_token:
                return google_error(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                    error_info("ACCESS_TOKEN_TYPE_UNSUPPORTED"),
                )
            if not m or (m.group(1), m.group(2)) != (self.project, self.location):
                return google_error(
                    403,
                    f"Permission 'aiplatform.endpoints.predict' denied on resource '{route}'.",
                    error_info("IAM_PERMISSION_DENIED"),
                )
            return None
        if route.startswith("/v1beta1/publishers/"):
            if req.method == "GET" and bearer == self.adc_token and key is None:
                return None
            return None if key == self.vertex_key else keys_not_supported()
        return None

    def check(self, req: Recorded) -> Reply | None:
        if req.route == "/token":
            return None
        refusal = self._auth(req)
        if refusal is not None or req.method == "GET":
            return refusal
        model, _, verb = req.route.rsplit("/", 1)[1].partition(":")
        body = req.json if isinstance(req.json, dict) else {}
        if verb == "generateContent":
            return check_generate_content(model, req.json)
        if verb == "predict":
            return self._check_imagen(model, body)
        if verb == "predictLongRunning":
            return self._check_veo(model, body)
        if verb == "fetchPredictOperation":
            if body.get("operationName") not in self.operations:
                return google_error(404, f"Operation {body.get('operationName')} not found.")
            return None
        return google_error(404, f"Unknown method {verb}.")

    def _check_imagen(self, model: str, body: dict[str, Any]) -> Reply | None:
        if model not in IMAGEN_MODELS:
            return google_error(
                404,
                f"Publisher Model `{model}` was not found or your project does not have access to it.",
            )
        instances, params = body.get("instances") or [], body.get("parameters") or {}
        if len(instances) != 1 or not isinstance(instances[0].get("prompt"), str):
            return bad_request("instances must hold exactly one prompt")
        count = params.get("sampleCount", 1)
        if not 1 <= count <= (1 if "ultra" in model else 4):
            return bad_request(f"sampleCount must be between 1 and {1 if 'ultra' in model else 4}")
        if params.get("aspectRatio", "1:1") not in IMAGEN_ASPECTS:
            return bad_request(f"Unsupported aspect ratio {params.get('aspectRatio')}")
        if "negativePrompt" in params and (
            model.startswith("imagen-4") or model == "imagen-3.0-generate-002"
        ):
            return bad_request(f"Negative prompts are not supported by {model}.")
        return None

    def _check_veo(self, model: str, body: dict[str, Any]) -> Reply | None:
        if model not in VEO_MODELS:
            return google_error(
                404,
                f"Publisher Model `{model}` was not found or your project does not have access to it.",
            )
        instances, params = body.get("instances") or [], body.get("parameters") or {}
        if len(instances) != 1 or not (instances[0].get("prompt") or instances[0].get("image")):
            return bad_request("instances must hold one prompt or image")
        duration, resolution = params.get("durationSeconds", 8), params.get("resolution", "720p")
        veo3 = model.startswith("veo-3")
        if duration not in ((4, 6, 8) if veo3 else (5, 6, 7, 8)):
            return bad_request(f"durationSeconds {duration} is not supported by {model}.")
        if resolution not in (("720p", "1080p", "4k") if veo3 else ("720p",)):
            return bad_request(f"resolution {resolution} is not supported by {model}.")
        if resolution in ("1080p", "4k") and duration != 8:
            return bad_request(f"{resolution} videos must be 8 seconds long (durationSeconds: 8).")
        if params.get("aspectRatio", "16:9") not in ("16:9", "9:16"):
            return bad_request(f"aspectRatio {params.get('aspectRatio')} is not supported.")
        if veo3 and not isinstance(params.get("generateAudio"), bool):
            return bad_request("generateAudio is required for Veo 3 models.")
        return None

    # --- answers ------------------------------------------------------------------------------
    def default(self, req: Recorded) -> Reply:
        if req.route == "/token":
            return Reply(
                200, {"access_token": self.adc_token, "expires_in": 3599, "token_type": "Bearer"}
            )
        if req.method == "GET":
            return self._list(req)
        model, _, verb = req.route.rsplit("/", 1)[1].partition(":")
        body = req.json or {}
        if verb == "generateContent":
            modalities = (body.get("generationConfig") or {}).get("responseModalities") or ["TEXT"]
            pictures = len([p for p in gemini_parts(body) if "data" in p])
            return Reply(
                200,
                gemini_response(
                    images=[self.image] if "IMAGE" in modalities else None,
                    model=model,
                    prompt_tokens=10 + 258 * pictures,
                ),
            )
        if verb == "predict":
            return Reply(200, self._imagen_answer(body))
        if verb == "predictLongRunning":
            name = f"projects/{self.project}/locations/{self.location}/publishers/google/models/{model}/operations/op-{next(self._ids)}"
            with self._lock:
                self.operations[name] = self.pending_polls
                self.submissions.append(req)
            return Reply(200, {"name": name})
        name = body["operationName"]
        with self._lock:
            remaining = self.operations[name]
            self.operations[name] = remaining - 1
        if remaining > 0:
            return Reply(200, {"name": name})
        video = {"bytesBase64Encoded": b64(self.video), "mimeType": "video/mp4"}
        return Reply(
            200,
            {
                "name": name,
                "done": True,
                "response": {
                    "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                    "raiMediaFilteredCount": 0,
                    "videos": [video],
                },
            },
        )

    def _imagen_answer(self, body: dict[str, Any]) -> dict[str, Any]:
        params = body.get("parameters") or {}
        count = params.get("sampleCount", 1)
        with self._lock:
            filtered, self.rai_filtered = min(self.rai_filtered, count), 0
        predictions: list[dict[str, Any]] = []
        if params.get("includeRaiReason"):
            predictions += [
                {
                    "raiFilteredReason": "Unable to show generated images. The images were filtered out because they violated Vertex AI's usage guidelines."
                }
            ] * filtered
        mime = (params.get("outputOptions") or {}).get("mimeType", "image/png")
        predictions += [{"bytesBase64Encoded": b64(self.image), "mimeType": mime}] * (
            count - filtered
        )
        return {"predictions": predictions} if predictions else {}

    def _list(self, req: Recorded) -> Reply:
        if req.route.startswith("/v1beta/models"):
            listed = [
                {
                    "name": f"models/{m}",
                    "displayName": m,
                    "supportedGenerationMethods": ["generateContent"],
                }
                for m in GEMINI_IMAGE_MODELS
            ]
            key = "models"
        else:
            listed = [{"name": f"publishers/google/models/{m}"} for m in IMAGEN_MODELS + VEO_MODELS]
            key = "publisherModels"
        wanted = req.route.split("/models", 1)[1].strip("/")
        if wanted:
            found = [m for m in listed if m["name"].endswith(f"/{wanted}")]
            return (
                Reply(200, found[0]) if found else google_error(404, f"Model {wanted} not found.")
            )
        return Reply(200, {key: listed})
