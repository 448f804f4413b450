# syntax=docker/dockerfile:1
# policyvault: one binary, one volume.
#   docker build -t policyvault .
#   docker run -d -p 8080:8080 -v policyvault-data:/data policyvault

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Build dependencies first so code changes do not rebuild them. The manifest names two
# binaries (the server and bench/), so both get a placeholder and only the server is built.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src bench && echo 'fn main() {}' > src/main.rs && echo 'fn main() {}' > bench/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --bin policyvault \
    && rm -rf src bench
COPY schema.sql ./
COPY assets ./assets
COPY src ./src
COPY bench ./bench
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin policyvault \
    && install -m 0755 target/release/policyvault /usr/local/bin/policyvault

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 policyvault \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin policyvault \
    && mkdir -p /data && chown policyvault:policyvault /data
COPY --from=build /usr/local/bin/policyvault /usr/local/bin/policyvault
USER 10001:10001
ENV PV_DATA_DIR=/data \
    PV_LISTEN=0.0.0.0:8080 \
    PV_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["policyvault", "healthcheck"]
ENTRYPOINT ["policyvault"]
CMD ["serve"]
