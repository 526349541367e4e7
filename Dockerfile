# syntax=docker/dockerfile:1
# infergate image: the gateway with the embedded ONNX Runtime backend and the bundled iris model.
#
#   CPU (default, small):   docker build -t infergate .
#   GPU (CUDA 12 + cuDNN 9): docker build --build-arg VARIANT=gpu -t infergate:gpu .
#   run:                    docker run --rm -p 8080:8080 infergate          (SageMaker: `docker run IMAGE serve`)
#
# Paths a volume may replace (deploy/README.md):
#   /app/config/              config files; the bundled config/default.yaml serves unless --config FILE or
#                             INFERGATE_CONFIG=FILE names another (e.g. /app/config/vertex.yaml)
#   /app/backends/onnx/       model repository of the bundled configs (<model>/<version>/model.onnx);
#                             INFERGATE_MODEL_REPOSITORY=DIR points the bundled configs elsewhere
# The process runs as uid/gid 1000 and writes nothing to the image: a read-only root filesystem works.

ARG NODE_IMAGE=node:24-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ARG VARIANT=cpu

# ---- deps: production node_modules only (no typescript, no test tools) ----
FROM ${NODE_IMAGE} AS deps
ARG VARIANT
ARG TARGETARCH
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node's install script only fetches the CUDA 12 execution provider from NuGet.
# package.json's allowScripts keeps npm from running it (the env var covers an npm older than
# 11.16); the GPU build runs it on purpose, with cuda12. Then keep only this platform's native
# binaries: the package ships macOS and Windows builds too, about 220 MB the image has no use for.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund \
 && if [ "$VARIANT" = gpu ]; then ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install; fi \
 && npm cache clean --force \
 && ortarch=$([ "${TARGETARCH:-amd64}" = arm64 ] && echo arm64 || echo x64) \
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 ! -path "*/linux/${ortarch}" -exec rm -rf {} +

# ---- runtime bases: one per variant; `FROM runtime-${VARIANT}` below picks one ----
FROM ${NODE_IMAGE} AS runtime-cpu
# curl: OCI Data Science and the HEALTHCHECK below run it inside the container.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*

FROM ${CUDA_IMAGE} AS runtime-gpu
# Node from the official image: its binary needs glibc >= 2.28 and libstdc++, both in Ubuntu 24.04.
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && (id -u 1000 >/dev/null 2>&1 || useradd --uid 1000 --user-group --no-create-home infergate)

# ---- the image ----
FROM runtime-${VARIANT}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin/ ./bin/
COPY src/ ./src/
COPY config/ ./config/
COPY backends/onnx/ ./backends/onnx/
RUN chmod 0755 /app/bin/infergate.js && ln -s /app/bin/infergate.js /usr/local/bin/infergate
# Node's compile cache, filled at build time: a cold start (Cloud Run or Knative scaling from zero)
# reads the sources' stripped and compiled code instead of redoing it (bench/coldstart.ts). Node
# writes its entries owner-only, hence the chmod; at run time a read-only cache is only read.
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
RUN infergate check /app/config/default.yaml && infergate check /app/config/cloudrun.yaml \
 && chmod -R a+rX /app/.node-compile-cache
# Numeric, so Kubernetes' runAsNonRoot can verify it (uid 1000 is `node` on the Node base, `ubuntu` on CUDA's).
USER 1000:1000
EXPOSE 8080
# SageMaker multi-container endpoints may move the port with SAGEMAKER_BIND_TO_PORT.
LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true
# Same port expression as server.port in config/default.yaml (INFERGATE_PORT is config/oci.yaml's, PORT Cloud Run's). /health is OCI's route (on in every bundled
# config but sagemaker.yaml); set INFERGATE_HEALTH_ROUTE=/ping with config/sagemaker.yaml.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${AIP_HTTP_PORT:-${SAGEMAKER_BIND_TO_PORT:-${INFERGATE_PORT:-${PORT:-8080}}}}${INFERGATE_HEALTH_ROUTE:-/health}" || exit 1
# Exec form: infergate is PID 1 and gets SIGTERM itself (it drains, then exits 0).
ENTRYPOINT ["infergate"]
CMD ["serve"]
