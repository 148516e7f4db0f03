# beckon-server as an image: the packages packed as npm publishes them (each prepack builds what it
# ships), installed from those tarballs without dev dependencies, run as the unprivileged `node` user.
# These are the release test's own steps (examples/release), which npm test runs on every change.
#   docker build -t beckon-server .
#   docker run -p 5100:5100 -v beckon-data:/data --env-file beckon.env beckon-server

FROM node:22-bookworm-slim AS pack
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
 && mkdir /packed \
 && npm pack --pack-destination /packed --workspace @beckon/ns-client --workspace @beckon/widget --workspace @beckon/server

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=pack /packed /tmp/packed
RUN echo '{"name":"beckon-app","private":true,"type":"module"}' > package.json \
 && npm install --omit=dev --no-audit --no-fund /tmp/packed/*.tgz \
 && npm cache clean --force \
 && rm -rf /tmp/packed \
 && mkdir -p /data && chown node:node /data
USER node
# The embedded database and domains.json live in the volume; set DATABASE_URL for PostgreSQL instead.
ENV HOST=0.0.0.0 PORT=5100 DATA_DIR=/data DOMAINS_FILE=/data/domains.json LOG_FORMAT=json
VOLUME /data
EXPOSE 5100
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 5100) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# SIGTERM (docker stop) lets requests in flight and queued texts finish within 10 s.
STOPSIGNAL SIGTERM
CMD ["node", "node_modules/@beckon/server/bin/beckon-server.js"]
