# syntax=docker/dockerfile:1
# A Ruby worker: the tasker-core gem, built from source (cargo compiles its extension at
# `gem install`), installed into a slim image that has Ruby and no toolchain.
# Build context: the repository root.

FROM rust:1.95.0-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends ruby ruby-dev libclang-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The gem installed is the local file built on the line before, not one from a registry.
# hadolint ignore=DL3028
RUN ruby workers/ruby/script/build_gem.rb \
    && gem install --local --no-document --install-dir /opt/gems workers/ruby/pkg/tasker-core-*[0-9].gem

# Debian's Ruby, the same 3.1 the extension was compiled against above.
FROM debian:12.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ruby ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 tasker
COPY --from=build /opt/gems /opt/gems
COPY docker/workers/worker.rb /app/worker.rb
USER 10001
WORKDIR /app
ENV GEM_HOME=/opt/gems \
    GEM_PATH=/opt/gems \
    TASKER_WEB_BIND_ADDRESS=0.0.0.0:8082 \
    LOG_FORMAT=compact
EXPOSE 8082
ENTRYPOINT ["ruby", "/app/worker.rb"]
