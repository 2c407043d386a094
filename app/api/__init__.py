"""The REST service (FastAPI) and the web page; ``chronorag serve`` runs it.

Routes (key-protected when ``CHRONORAG_API_KEY`` is set, except /healthz, /readyz, and the
page shell at / and /static/):

- ``POST /v1/media`` (multipart ``file`` [+ ``title``, ``recorded_at``]) → 202 {media_id, job_id}
- ``GET /v1/jobs/{job_id}``; ``GET /v1/media``, ``GET|DELETE /v1/media/{id}``
- ``GET /v1/media/{id}/file`` (Range), ``/transcript?format=json|srt|vtt``,
  ``/clip?start_s=&end_s=``
- ``POST /v1/search``; ``POST /v1/ask`` (JSON, or SSE with ``Accept: text/event-stream``);
  ``GET /v1/answers/{file}`` (spoken answers, avatar videos)
- ``GET /v1/models``, ``POST /v1/chat/completions`` (OpenAI-compatible, model ``chronorag``)
- ``GET /healthz``, ``/readyz``, ``/metrics`` (Prometheus), ``/docs`` (Swagger UI, its files
  served from ``/docs/assets/``: no CDN), ``/openapi.json``

JSON bodies are limited to 4 MB; asks, clip encodes and uploads in flight are bounded
(503 with ``Retry-After`` beyond that).
"""

from app.api.factory import create_app

__all__ = ["create_app"]
