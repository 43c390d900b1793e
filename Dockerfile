# Two stages: build on Debian 12 with the project's own dependency script, run on a slim
# Debian 12 with only the runtime libraries. The spool lives on /var/lib/relay (a volume).
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN RELAY_WITH_DEV_TOOLS=0 bash scripts/install-deps.sh
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DLSR_BUILD_TESTS=OFF -DLSR_BUILD_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target looker-segment-relay

FROM debian:12-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates libssl3 zlib1g libsqlite3-0 \
      libyaml-cpp0.7 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/relay relay \
 && mkdir -p /var/lib/relay && chown relay /var/lib/relay && chmod 0700 /var/lib/relay
COPY --from=build /build/app/looker-segment-relay /usr/local/bin/looker-segment-relay
COPY config/relay.example.yaml /etc/looker-segment-relay/relay.example.yaml
USER relay
ENV RELAY_LISTEN=0.0.0.0:8080 RELAY_SPOOL_PATH=/var/lib/relay/spool.db
VOLUME /var/lib/relay
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/looker-segment-relay"]
CMD ["serve"]
