"""Google through the official `google-genai` SDK: Gemini image models on the Gemini API,
Imagen and Veo on Vertex AI, each host with its own credential."""

from studio.providers.google.adapter import (
    GEMINI_MODELS,
    IMAGEN_MODELS,
    VEO_MODELS,
    GoogleProvider,
    VertexAccess,
)

__all__ = ["GEMINI_MODELS", "IMAGEN_MODELS", "VEO_MODELS", "GoogleProvider", "VertexAccess"]
