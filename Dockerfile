# sessiond container image: built on Debian 12 with the project's own scripts
# (the same ones CI runs), run on debian:bookworm-slim with runtime libraries
# only, as a non-root user. Configure with SESSIOND_* environment variables.

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps --build
COPY . .
# The compiler cache lives in a cache mount (kept by the builder across
# builds, never in a layer): after a source change only what changed is
# compiled again. Needs BuildKit (Docker's default builder) or podman/buildah.
RUN --mount=type=cache,target=/ccache \
    rm -rf build && CCACHE_DIR=/ccache scripts/build release -DSESSIOND_TESTS=OFF \
 && strip -o /sessiond build/server/sessiond

FROM debian:bookworm-slim
COPY scripts/install-deps /usr/local/lib/sessiond/install-deps
RUN /usr/local/lib/sessiond/install-deps --runtime && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin sessiond
COPY --from=build /sessiond /usr/local/bin/sessiond
COPY config/sessiond.conf /etc/sessiond/sessiond.conf
USER 10001:10001
ENV SESSIOND_ADDRESS=0.0.0.0 \
    SESSIOND_PORT=8080 \
    SESSIOND_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s --start-period=5s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${SESSIOND_PORT}/healthz" >/dev/null || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/sessiond"]
