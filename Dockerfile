# looker-segment-relay image. Two stages: build on Debian 12 with the project's own dependency
# script, run on Debian 12 slim with only the libraries the binary links. The spool lives on
# /var/lib/relay (a volume); nothing else is written, so the root filesystem can be read-only
# (SQLite's temp store is in memory, request bodies go to <spool dir>/tmp).
#
#   podman build --build-arg REVISION="$(git rev-parse --short HEAD)" -t looker-segment-relay:0.1.0 .
#   bash scripts/container-test.sh     # builds it and tests it (see README, "Container")

# VERSION must be the one the binary prints (project() VERSION in CMakeLists.txt): the build
# stage checks it. REVISION and SOURCE only label the image (and REVISION goes to the build).
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown

FROM docker.io/library/debian:12 AS build
ARG VERSION
ARG REVISION
WORKDIR /src
# Dependencies first: this layer stays cached until the script changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN RELAY_WITH_DEV_TOOLS=0 bash scripts/install-deps.sh \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ccache >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
# Only what the binary is built from: a change to docs, tests or deploy files reuses the build.
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY core core
COPY config config
COPY server server
COPY app app
# -O2, the optimisation CI builds and tests with GCC (RelWithDebInfo), without the debug info:
# GCC 12 at -O3 reports a false -Wrestrict in std::string's operator+ and warnings are errors.
# ccache in a build cache mount: a new revision (or a one-file change) recompiles only what
# changed, not the whole relay.
RUN --mount=type=cache,target=/ccache,id=looker-segment-relay-ccache \
    export CCACHE_DIR=/ccache CCACHE_MAXSIZE=2G \
      CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache \
      -DLSR_BUILD_TESTS=OFF -DLSR_BUILD_BENCH=OFF -DLSR_REVISION="${REVISION}" \
 && cmake --build /build -j"$(nproc)" --target looker-segment-relay \
 && { ccache --show-stats | grep -iE 'hits|misses' || true; } \
 && strip /build/app/looker-segment-relay \
 && printed="$(/build/app/looker-segment-relay version)" \
 && if [ "$printed" != "looker-segment-relay ${VERSION}" ]; then \
      echo "the binary prints '$printed' but the image is labelled ${VERSION}: pass --build-arg VERSION" >&2; \
      exit 1; \
    fi

FROM docker.io/library/debian:12-slim
ARG VERSION
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.title="looker-segment-relay" \
      org.opencontainers.image.description="Turns Looker scheduled results into Segment identify/track/group events, spooled durably and delivered to Segment's HTTP API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
# The binary's NEEDED libraries (objdump -p) and the CA certificates for Segment's HTTPS; the
# apt lists, caches and logs go in the same layer.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates libssl3 zlib1g libdeflate0 libsqlite3-0 libyaml-cpp0.7 libprometheus-cpp-core1.0 \
      libstdc++6 libgcc-s1 >/dev/null \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
      /var/log/alternatives.log /var/cache/debconf/*-old /var/lib/dpkg/*-old \
 && groupadd --system --gid 10001 relay \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/relay --no-create-home \
      --shell /usr/sbin/nologin relay \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/relay
COPY --from=build /build/app/looker-segment-relay /usr/local/bin/looker-segment-relay
COPY config/relay.example.yaml /etc/looker-segment-relay/relay.example.yaml
# Every library resolves (fails the build otherwise).
RUN if ldd /usr/local/bin/looker-segment-relay | grep 'not found'; then exit 1; fi \
 && /usr/local/bin/looker-segment-relay version
USER 10001:10001
ENV RELAY_LISTEN=0.0.0.0:8080 \
    RELAY_ADMIN_LISTEN=0.0.0.0:8081 \
    RELAY_SPOOL_PATH=/var/lib/relay/spool.db
VOLUME /var/lib/relay
EXPOSE 8080 8081
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/looker-segment-relay"]
CMD ["serve"]
