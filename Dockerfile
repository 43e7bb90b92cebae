# CPU image. For NVIDIA: build FROM a CUDA runtime image and set TORCH_SPEC/--index-url to a CUDA torch
# build; for Ascend: FROM an image with CANN, then `pip install torch-npu` matching it (--device npu).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
# torch first and pinned to the CPU build, so the open range in pyproject.toml never pulls CUDA.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir ".[ja]"
ENV KOKORO_DATA_DIR=/data
VOLUME /data
EXPOSE 10200 10201
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s \
    CMD python -m wyoming_kokoro.health_check --uri tcp://127.0.0.1:10200 || exit 1
ENTRYPOINT ["/app/run.sh"]
