# One image for the four services, the portal and the CLI; docker-compose.yml picks the entry point of each.
# The build stage has every dependency (TypeScript, nx, buf); the runtime stage only the production ones
# and the built code.
FROM node:24-bookworm-slim AS build
WORKDIR /herald
COPY package.json package-lock.json nx.json tsconfig.base.json tsconfig.json buf.yaml buf.gen.yaml ./
# Applied by `npm ci` (the root postinstall runs patch-package).
COPY patches patches
COPY apps apps
COPY libs libs
COPY proto proto
COPY test/package.json test/package.json
RUN npm ci --no-audit --no-fund && npx nx run-many -t build -p @herald/contracts @herald/platform @herald/ingest @herald/routing @herald/delivery @herald/audit @herald/portal @herald/cli
# What the runtime stage takes: every workspace's package.json (npm ci needs all the lock file names),
# the lock file, the patches and the built code; no sources, tests or build tools.
RUN mkdir /runtime && \
  cp --parents package.json package-lock.json test/package.json apps/*/package.json libs/*/package.json /runtime/ && \
  cp -r --parents patches apps/*/dist libs/*/dist apps/cli/bin /runtime/ && \
  find /runtime -name '*.tsbuildinfo' -delete

FROM node:24-bookworm-slim
WORKDIR /herald
ENV NODE_ENV=production
COPY --from=build /runtime ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
USER node
