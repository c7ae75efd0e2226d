# The local runner with its live dashboard, as a container: `docker compose up`, then open
# http://127.0.0.1:8787/ (docs/dashboard.md, "Container"). Two stages: the build stage bundles the
# TypeScript with esbuild (a dev dependency); the runtime stage has production packages only and
# runs the bundle on plain node as the unprivileged `node` user.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY shared ./shared
COPY functions ./functions
COPY local ./local
RUN npm run build:local

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no runtime package needs an install script, so none gets to run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/local ./dist/local
# The page is read at run time, found by walking up from dist/local.
COPY local/dashboard/static ./local/dashboard/static
USER node
EXPOSE 8787
# /healthz answers while the dashboard serves; node's fetch, since the slim image has no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8787/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--enable-source-maps", "dist/local/cli.mjs"]
# Generated traffic in real time for a year, with the dashboard on every interface of the
# container (publish it on the host's loopback only; see compose.yaml). The silence token is
# DASHBOARD_TOKEN when set, otherwise a random one printed at start (docker logs).
CMD ["--dashboard", "--host", "0.0.0.0", "--port", "8787", "--duration", "31536000"]
