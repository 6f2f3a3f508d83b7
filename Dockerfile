# spikemesh image for docker-compose.yml: `docker compose build`, then `docker compose up`.
# Not built on the development machines (no Docker engine there); see README "Observability".
FROM node:20-bookworm-slim AS build
WORKDIR /app
# .npmrc: optional packages are omitted, so the platform binaries (node-llama-cpp's linux-x64 build,
# biome, esbuild) are explicit dependencies in package.json and need no compiler here.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/topologies ./topologies
# Prompts are read at run time from processors/escalation-tier/prompts (not copied by tsc).
COPY --from=build /app/processors/escalation-tier/prompts ./processors/escalation-tier/prompts
USER node
# /metrics (and the live view) for Prometheus: see grafana/prometheus.yml.
EXPOSE 9464
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["demo", "--keep-running", "--metrics-port", "9464"]
