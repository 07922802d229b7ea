# syntax=docker/dockerfile:1
# atelier's production image: one binary (`atelier serve`, `atelier worker`, `atelier migrate`,
# ...), the vision models and the ONNX Runtime library they run on, as a non-root user.
#   docker build -t atelier .
# Needs BuildKit (the default builder since Docker 23) for the cache mounts, and builds
# linux/amd64 only: the ONNX Runtime wheel the setup script pins is Linux x86_64.
# Operator's guide: docs/ops/deploy.md.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS builder
# nasm gives libjpeg-turbo its SIMD paths; python3-pip fetches the ONNX Runtime wheel.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nasm python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# ONNX Runtime first, in its own layer: it is pinned and changes far less often than the code.
COPY scripts/setup-onnxruntime.sh scripts/
COPY deploy/docker/fetch-onnxruntime.sh deploy/docker/
RUN bash deploy/docker/fetch-onnxruntime.sh /out

# The cache mounts keep the crates.io downloads and compiled dependencies between builds,
# so a code change recompiles atelier's own crates only. target/ lives in the cache, so the
# binary is copied out in the same step.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release -p atelier --locked \
 && install -D -m 0755 target/release/atelier /out/bin/atelier

FROM debian:bookworm-slim AS runtime
# ca-certificates for TLS to S3 and PostgreSQL; the rest (glibc, libstdc++ for ONNX
# Runtime) is in the base image already. No shell tools are needed: the health check is
# the binary's own `atelier healthcheck`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 atelier \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/atelier \
      --shell /usr/sbin/nologin atelier \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/atelier

COPY --from=builder /out/bin/atelier /usr/local/bin/atelier
COPY --from=builder /out/lib/ /opt/atelier/lib/
# The models with their SOURCES.md, SHA256SUMS and licenses/; ONNX Runtime's licence and
# third-party notices beside them.
COPY models/ /opt/atelier/models/
COPY --from=builder /out/licenses/onnxruntime/ /opt/atelier/licenses/onnxruntime/

# ORT_DYLIB_PATH is for `atelier models`, which looks for the library there.
ENV ATELIER_LISTEN=0.0.0.0:8080 \
    ATELIER_DATA_DIR=/var/lib/atelier \
    ATELIER_VISION__MODELS_DIR=/opt/atelier/models \
    ATELIER_VISION__LIBRARY=/opt/atelier/lib/libonnxruntime.so.1.31.1 \
    ORT_DYLIB_PATH=/opt/atelier/lib/libonnxruntime.so.1.31.1

# Fail the build rather than the first vision job: every model present with its pinned
# sha256, the library found, and every shared library both need resolved in this image.
RUN atelier models --dir /opt/atelier/models \
 && ! ldd /usr/local/bin/atelier /opt/atelier/lib/libonnxruntime.so.1.31.1 | grep 'not found'

USER 10001:10001
WORKDIR /var/lib/atelier
EXPOSE 8080
# For `atelier serve`; a worker container checks its own listener (ATELIER_WORKER__LISTEN)
# instead, see docker-compose.yml. Kubernetes ignores this and uses its probes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["atelier", "healthcheck", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["atelier"]
CMD ["serve"]
