# One image for the four services; docker-compose.yml picks the entry point of each.
FROM node:24-bookworm-slim AS build
WORKDIR /herald
COPY package.json package-lock.json nx.json tsconfig.base.json tsconfig.json buf.yaml buf.gen.yaml ./
# Applied by `npm ci` (the root postinstall runs patch-package).
COPY patches patches
COPY apps apps
COPY libs libs
COPY proto proto
COPY test/package.json test/package.json
RUN npm ci --no-audit --no-fund && npx nx run-many -t build -p @herald/contracts @herald/platform @herald/ingest @herald/routing @herald/delivery @herald/audit

FROM node:24-bookworm-slim
WORKDIR /herald
ENV NODE_ENV=production
COPY --from=build /herald /herald
USER node
