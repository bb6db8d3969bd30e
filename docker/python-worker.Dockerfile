# syntax=docker/dockerfile:1
# A Python worker: the tasker-core abi3 wheel, built with maturin, installed into a slim
# Python image with no toolchain.
# Build context: the repository root.

FROM rust:1.95.0-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/maturin \
    && /opt/maturin/bin/pip install --no-cache-dir "maturin==1.16.0"
WORKDIR /src
COPY . .
RUN /opt/maturin/bin/maturin build --release --locked -m workers/python/Cargo.toml --out /out

FROM python:3.11.13-slim-bookworm
COPY --from=build /out /wheels
RUN pip install --no-cache-dir /wheels/tasker_core-*.whl \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 tasker
COPY docker/workers/worker.py /app/worker.py
USER 10001
WORKDIR /app
ENV TASKER_WEB_BIND_ADDRESS=0.0.0.0:8082 \
    LOG_FORMAT=compact \
    PYTHONUNBUFFERED=1
EXPOSE 8082
ENTRYPOINT ["python", "/app/worker.py"]
