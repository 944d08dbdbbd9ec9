# syntax=docker/dockerfile:1

# auth-sidecar as a container image (README "Deployment"). The build stage compiles the TypeScript;
# the runtime stage holds only the compiled code, the production dependencies and the example config.
# test/deploy/ checks this file: it lints it, and runs what the runtime stage copies the way CMD does.

FROM node:24-alpine AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM node:24-alpine AS runtime
# The version is package.json's (a test keeps the two equal). SOURCE_URL: pass the repository's URL
# with --build-arg; nothing in the repository records it.
ARG VERSION=0.1.0
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="auth-sidecar" \
      org.opencontainers.image.description="Authentication proxy for HTTP services you cannot change: login, JWTs and route rules in front of any backend." \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"

# tini is PID 1: it forwards SIGTERM and SIGINT to node and reaps orphaned processes. The sidecar
# would handle SIGTERM as PID 1 by itself (it listens for it), but a command run from this image
# without a handler, such as the echo backend of docker-compose.yml, would ignore it as PID 1 and
# only die at the stop timeout's SIGKILL.
RUN apk add --no-cache tini

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /build/dist/src ./dist/src
COPY config ./config
# Code and config stay root's and read-only to the runtime user; only the store's folder is its own.
RUN mkdir -p /app/data && chown 1000:1000 /app/data

# The root filesystem may be read-only: the store (store.path data/auth-sidecar.json, relative to
# WORKDIR) lives on the /app/data volume, and Node's compile cache, which the sidecar turns on and
# which does nothing when its folder is not writable, on the /tmp volume.
ENV AUTH_SIDECAR_CONFIG=/app/config/auth-sidecar.yaml \
    NODE_COMPILE_CACHE=/tmp/node-compile-cache
# The image's "node" user, by number so that Kubernetes can check runAsNonRoot.
USER 1000:1000
VOLUME ["/app/data", "/tmp"]
EXPOSE 8080

# No curl in the image: node itself asks GET /healthz, on env PORT when it overrides listen.port.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/sbin/tini", "--"]
CMD ["node", "dist/src/main.js", "serve"]
