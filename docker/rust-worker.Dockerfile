# syntax=docker/dockerfile:1
# The Rust worker: `tasker-worker-rust` with the example handlers (square, sum_dependencies,
# sleep). The same image runs `migrate`, `serve` and `submit` (docker-compose.test.yml).
# Build context: the repository root (`make docker-up` builds it).

FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY . .
# The workspace's other members (Ruby, Python, wasm) are only read for their manifests.
RUN cargo build --release --locked -p tasker-worker-rust --bin tasker-worker-rust \
    && install -D target/release/tasker-worker-rust /out/tasker-worker-rust

FROM debian:12.11-slim
# curl is for the compose healthcheck (GET /health); ca-certificates for OTLP over TLS.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 tasker
COPY --from=build /out/tasker-worker-rust /usr/local/bin/tasker-worker-rust
COPY workers/rust/templates /app/templates
USER 10001
WORKDIR /app
ENV TASKER_WEB_BIND_ADDRESS=0.0.0.0:8082 \
    LOG_FORMAT=compact
EXPOSE 8082
ENTRYPOINT ["tasker-worker-rust"]
CMD ["help"]
