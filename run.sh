#!/usr/bin/env bash
# Container / add-on entry point: options from the environment, port 10200 (Wyoming) and 10201 (HTTP), zeroconf on.
#   KOKORO_VOICE (default af_heart, jf_alpha offline), KOKORO_SPEED (1.0), KOKORO_DEVICE (auto), KOKORO_DTYPE, KOKORO_QUANTIZE, KOKORO_DATA_DIR (/data),
#   KOKORO_ZEROCONF_NAME (kokoro; set but empty: none), KOKORO_HTTP_PORT (10201, the OpenAI-compatible API and voice page),
#   KOKORO_API_KEY (bearer token for /v1/*, none by default), KOKORO_DEBUG (false); WYOMING_KOKORO_ARGS adds any other option.
set -euo pipefail
data="${KOKORO_DATA_DIR:-/data}"
args=(--uri "tcp://0.0.0.0:${KOKORO_PORT:-10200}" --data-dir "$data" --download-dir "$data"
      --speed "${KOKORO_SPEED:-1.0}" --device "${KOKORO_DEVICE:-auto}"
      --http "tcp://0.0.0.0:${KOKORO_HTTP_PORT:-10201}")
# Set but empty: no zeroconf (replicas behind a load balancer: the balancer's address is the one to find).
zc="${KOKORO_ZEROCONF_NAME-kokoro}"
[ -n "$zc" ] && args+=(--zeroconf "$zc")
# Only a voice the user chose: the server's default (af_heart, else jf_alpha offline) otherwise.
[ -n "${KOKORO_VOICE:-}" ] && args+=(--voice "$KOKORO_VOICE")
[ -n "${KOKORO_DTYPE:-}" ] && args+=(--dtype "$KOKORO_DTYPE")
[ -n "${KOKORO_QUANTIZE:-}" ] && args+=(--quantize "$KOKORO_QUANTIZE")
[ "${KOKORO_DEBUG:-false}" = "true" ] && args+=(--debug)
if ! command -v wyoming-kokoro >/dev/null 2>&1; then  # a checkout rather than an installed image
    cd "$(dirname "$0")"
    script/setup
    PATH="$PWD/.venv/bin:$PATH"
fi
exec wyoming-kokoro "${args[@]}" "$@"
