# bankd's production image. Build: docker build -t bankd .   Run: see compose.yaml and docs/deploy.md.
# test/deploy/dockerfile.test.ts reads this file and runs its build and run steps in a temporary
# directory, so keep to the instructions it understands (FROM, ARG, ENV, WORKDIR, COPY, RUN, USER,
# EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, ENTRYPOINT, CMD; exec form for the last three).

# The Node of the build and of the server, pinned by tag (Node.js 24 LTS: the major of package.json
# engines, .nvmrc and CI). Its npm is 11, which honours package.json allowScripts. Pin the digest
# too in your registry mirror: node:24.22.3-bookworm-slim@sha256:...
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- build: all dependencies from the lockfile, compile, then drop the devDependencies -------
FROM ${NODE_IMAGE} AS build
# argon2 and better-sqlite3 ship prebuilt binaries inside their npm packages (nothing is
# downloaded); argon2 compiles from source on a platform its package has no binary for.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY gen ./gen
COPY src ./src
COPY web ./web
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund
RUN mkdir -p empty-data-dir

# --- runtime: dist/, production node_modules and package.json, nothing else ------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    BANK_HOST=0.0.0.0 \
    BANK_PORT=8080 \
    BANK_DATA_DIR=/var/lib/bankd
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# BANK_DATA_DIR (SQLite, JWT signing keys), the only directory the server writes, owned by the
# image's unprivileged user (uid 1000 "node" in the official Node images).
COPY --from=build --chown=node:node /app/empty-data-dir /var/lib/bankd
USER node
EXPOSE 8080
VOLUME ["/var/lib/bankd"]
# The server drains on SIGTERM (NOT_SERVING, in-flight calls finish, exit 0). node is PID 1 (exec
# form, no shell or npm in between), so it receives the signal itself.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/src/main.js", "healthcheck"]
ENTRYPOINT ["node", "dist/src/main.js"]
# No arguments: serve. `docker run IMAGE migrate` (or healthcheck, create-user ...) runs a command.
CMD []
