# syntax=docker/dockerfile:1
# The coordinator as a container image. Build from the repository root:
#   docker build -f deploy/coordinator.Dockerfile -t tandem-coordinator .
# Run it as docs/operator-guide.md ("Install with Docker") shows: production settings, certificates and
# the permit key mounted read-only from outside the data volume, a read-only root filesystem.
#
# There is no separate build output: the services run their TypeScript through tsx, exactly as the
# tests run them. The build stage installs only the coordinator's workspaces (the lockfile decides every
# version) and compiles better-sqlite3; the runtime stage is node:20-slim with those files, a non-root
# user and nothing else.

ARG NODE_IMAGE=node:20-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles from source when no prebuilt binary matches: Python, make and a C++ compiler.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Manifests first, so the dependency layer is rebuilt only when they change. npm ci needs every
# workspace's package.json to match the lockfile, but installs the coordinator's dependency tree only
# (not the signer: the coordinator never holds share material, and its image does not carry that code).
COPY package.json package-lock.json tsconfig.json ./
COPY common/package.json common/
COPY tecdsa/package.json tecdsa/
COPY proto/package.json proto/
COPY coordinator/package.json coordinator/
COPY signer-daemon/package.json signer-daemon/
COPY desktop/package.json desktop/
RUN npm ci --workspace @tandem/coordinator --omit=dev --no-audit --no-fund \
 && node -e "new (require('better-sqlite3'))(':memory:').close()" \
 && rm -rf signer-daemon desktop node_modules/@tandem/signer-daemon node_modules/@tandem/desktop
# tsx (a development dependency of the repository) at the lockfile's versions, apart from the app.
RUN TSX="$(node -p "require('./package-lock.json').packages['node_modules/tsx'].version")" \
 && ESBUILD="$(node -p "require('./package-lock.json').packages['node_modules/esbuild'].version")" \
 && npm install --prefix /opt/tsx --no-save --no-package-lock --no-audit --no-fund "tsx@${TSX}" "esbuild@${ESBUILD}"
COPY common/tsconfig.json common/
COPY common/src common/src
COPY tecdsa/tsconfig.json tecdsa/
COPY tecdsa/src tecdsa/src
COPY proto/tsconfig.json proto/
COPY proto/src proto/src
COPY proto/gen proto/gen
COPY coordinator/tsconfig.json coordinator/
COPY coordinator/src coordinator/src

FROM ${NODE_IMAGE} AS runtime
# A dedicated unprivileged user with a fixed uid, so files mounted from the host (the KEK, mode 600) can
# be given to it. The data directory is its only writable place (run with --read-only --tmpfs /tmp).
RUN groupadd --system --gid 10001 tandem \
 && useradd --system --uid 10001 --gid tandem --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin tandem \
 && install -d -o tandem -g tandem -m 0700 /var/lib/tandem-coordinator \
 && printf '#!/bin/sh\ncd /app && exec node --import /opt/tsx/node_modules/tsx/dist/loader.mjs coordinator/src/cli/admin.ts "$@"\n' \
      > /usr/local/bin/tandem-admin \
 && chmod 755 /usr/local/bin/tandem-admin
COPY --from=build /opt/tsx /opt/tsx
COPY --from=build /app /app
WORKDIR /app
ENV NODE_ENV=production \
    TANDEM_ENV=production \
    TANDEM_COORDINATOR_DATA_DIR=/var/lib/tandem-coordinator \
    TANDEM_COORDINATOR_HOST=0.0.0.0 \
    TANDEM_COORDINATOR_PORT=8443
USER tandem
VOLUME ["/var/lib/tandem-coordinator"]
# HTTPS (REST under /api/v1) and WSS (/api/v1/mpc) on one port; /metrics answers loopback only.
EXPOSE 8443
# /healthz over loopback. The certificate names the public host, not 127.0.0.1, and this probe sends
# nothing secret and trusts nothing it reads, so it does not verify the certificate.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "require('node:https').get({ host: '127.0.0.1', port: process.env.TANDEM_COORDINATOR_PORT || 8443, path: '/healthz', rejectUnauthorized: false, timeout: 4000 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1)).on('timeout', () => process.exit(1))"]
# SIGTERM (docker stop) shuts down gracefully: relayed sessions end, followers stop, SQLite closes.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--import", "/opt/tsx/node_modules/tsx/dist/loader.mjs", "coordinator/src/main.ts"]
