# Production image: Deno on the official base, non-root, explicit permissions (no -A).
# Build: docker build -t convergence .   Run: docker run -e ENVIRONMENT=production ... convergence
FROM denoland/deno:2.9.6

WORKDIR /app
ENV DENO_DIR=/app/.deno-cache DATA_DIR=/data PORT=8000

# Dependencies first, for layer caching.
COPY deno.json deno.lock ./
COPY . .
RUN deno install --frozen && deno cache runtime/main.ts \
  && mkdir -p /data && chown -R deno:deno /data /app/.deno-cache

USER deno
EXPOSE 8000

# generated/ is committed and checked in CI, so the image never compiles configs at start.
CMD ["run", \
  "--allow-net", \
  "--allow-env", \
  "--allow-read=/app,/data", \
  "--allow-write=/data", \
  "--allow-ffi", \
  "--allow-sys=hostname,osRelease,uid,gid,networkInterfaces", \
  "runtime/main.ts"]
