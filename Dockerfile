# Portico container image: built in one stage, run from a slim one with only the runtime
# libraries. Plain Dockerfile syntax (no BuildKit features), so both docker and podman build it.

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      g++ make cmake pkg-config libosip2-dev libasio-dev libssl-dev libyaml-cpp-dev \
      prometheus-cpp-dev liburing-dev libsrtp2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY include include
COPY src src
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPORTICO_BUILD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" --target portico

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libosip2-15 libyaml-cpp0.7 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libcivetweb1 liburing2 \
      libssl3 libsrtp2-1 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin portico
COPY --from=build /src/build/src/portico /usr/local/bin/portico
COPY policies /etc/portico/policies
# Health check for docker-compose.yml: GET /metrics over bash's /dev/tcp (the image has no curl).
COPY deploy/portico/healthcheck.sh /usr/local/bin/portico-healthcheck
# SIP on 5060 needs no privilege; Portico stops cleanly on SIGTERM (calls get BYE/CANCEL).
USER portico
ENTRYPOINT ["/usr/local/bin/portico"]
CMD ["--policies", "/etc/portico/policies"]
