# ChronoRAG application image: the API service, the CLI and ingestion workers.
# vLLM is NOT installed here: it runs in its own official image (docker-compose.yml)
# and the app reaches it over the OpenAI-compatible HTTP protocol.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    OMP_WAIT_POLICY=PASSIVE \
    CHRONORAG_HOME=/data

# ffmpeg decodes uploads; espeak-ng speaks the Indian languages Piper has no voice for.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg espeak-ng \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/chronorag
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY graphs ./graphs
COPY ingestion ./ingestion
COPY vectorstore ./vectorstore
COPY speech ./speech
COPY evals ./evals

# The project's runtime dependencies (headless OpenCV only; no torch, no vLLM), then
# rapidocr without its declared GUI opencv-python dependency (its real deps are in
# pyproject.toml).
RUN pip install -c constraints.txt . \
    && pip install --no-deps rapidocr-onnxruntime==1.4.4 \
    && python -c "import cv2, app.config; print('opencv', cv2.__version__)"

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin chronorag \
    && mkdir -p /data \
    && chown chronorag:chronorag /data
USER chronorag
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

ENTRYPOINT ["chronorag"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
