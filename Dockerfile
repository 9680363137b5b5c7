# CORE node image: Node 24, the built dist/ and native consensus addon, production dependencies only.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# The native addon (native/, napi-rs) is built with cargo: the build stage needs the Rust toolchain.
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates build-essential \
  && curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain stable \
  && rm -rf /var/lib/apt/lists/*
ENV PATH=/root/.cargo/bin:$PATH
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV CORE_ENV=production CORE_HOST=0.0.0.0
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The consensus addon and its generated loader (lib/consensus loads native/index.js at the package root).
COPY --from=build /app/native/index.js /app/native/index.d.ts /app/native/package.json /app/native/*.node ./native/
USER node
EXPOSE 3000 3030
ENTRYPOINT ["node", "dist/bin/core.js"]
CMD ["start"]
