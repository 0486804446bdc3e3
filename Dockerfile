# CPU image. Same steps as the README: npm ci (builds via `prepare`), models prepare, serve.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY preprocessing ./preprocessing
COPY src ./src
COPY models ./models
# The CPU build needs nothing onnxruntime-node's install script downloads. npm 11.19+ skips
# it (allowScripts in package.json); older npm (this image's) reads this variable.
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm ci \
 && node dist/src/cli/main.js models prepare \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
# Debian's maintained ffmpeg decodes untrusted uploads instead of the npm package's 2018 build.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    FRAMEWATCH_FFMPEG_PATH=/usr/bin/ffmpeg \
    FRAMEWATCH_FFPROBE_PATH=/usr/bin/ffprobe \
    FRAMEWATCH_PORT=8080 \
    FRAMEWATCH_DATA_DIR=/app/data
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/cli/main.js", "serve"]
