# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production ones only, as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json .swcrc ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
# Production refuses to start without JWT_SECRET, ADMIN_PASSWORD, PAYMENT_WEBHOOK_SECRET and METRICS_TOKEN
# (and with their published development defaults): pass them at run time, never bake them in here.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
USER node
EXPOSE 3000
# ROLE=api | worker | all. A worker serves HTTP only on WORKER_METRICS_PORT, so Compose and ops/k8s check its
# /health/live there instead (docs/deployment.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/v1/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# As package.json's start:prod: a 192 MiB heap keeps each process's RSS near 170 MiB under load (see
# docs/performance.md); raise it here or through NODE_OPTIONS for an unusual workload.
CMD ["node", "--max-old-space-size=192", "dist/main.js"]
