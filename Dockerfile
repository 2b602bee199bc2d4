# Production image: Deno on the official base, non-root, explicit permissions (no -A).
# --allow-env lists the settings (runtime/config.ts SETTINGS_ENV), the notifiers' variables and those the Google
# client libraries read (LIBRARY_ENV); tests/security/privileges_test.ts starts the server with exactly such a list.
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

# Files the server creates under DATA_DIR are 0600 and folders 0700 (DuckDB's WAL included): the umask is set
# here because Deno grants it only with an unrestricted --allow-sys.
ENTRYPOINT ["/bin/sh", "-c", "umask 077 && exec deno \"$@\"", "deno"]

# generated/ is committed and checked in CI, so the image never compiles configs at start.
CMD ["run", \
  "--allow-net", \
  "--allow-env=PORT,ENVIRONMENT,CA_ROOT_API_KEY,CA_ROOT_API_KEY_PREVIOUS,DISABLE_AUTH,RATE_LIMIT_ENABLED,RATE_LIMIT_PER_SECOND,RATE_LIMIT_BURST,TRUSTED_PROXY_HOPS,CORS_ORIGINS,DATA_DIR,MAX_BODY_BYTES,WAREHOUSE,GCP_PROJECT_ID,BIGQUERY_LOCATION,KMS_KEY_NAME,KMS_PROJECT_ID,KMS_LOCATION,KMS_KEYRING,KMS_KEY,OPENAI_BASE_URL,ANTHROPIC_BASE_URL,DEEPSEEK_BASE_URL,GCP_TOKEN_URI,SCHEDULER_ENABLED,SCHEDULER_CONCURRENCY,SCHEDULER_MAX_ATTEMPTS,SCHEDULER_CATCHUP_DAYS,LOG_LEVEL,SMTP_HOST,SMTP_PORT,SMTP_USER,SMTP_PASSWORD,SMTP_FROM,SMTP_TLS_INSECURE,SMTP_REQUIRE_TLS,SMTP_CA_CERT,SLACK_WEBHOOK_URL,SLACK_ALLOWED_HOSTS,GOOGLE_SDK_NODE_LOGGING,GOOGLE_APPLICATION_CREDENTIALS,GOOGLE_CLOUD_PROJECT,GCLOUD_PROJECT,GCE_METADATA_HOST,GCE_METADATA_IP,GOOGLE_CLOUD_UNIVERSE_DOMAIN,GOOGLE_CLOUD_QUOTA_PROJECT,NO_COLOR,GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION,GRPC_NODE_DEBUG_SEND_ERROR_DETAILS,GRPC_NODE_USE_ALTERNATIVE_RESOLVER,GRPC_DEFAULT_SSL_ROOTS_FILE_PATH,GRPC_SSL_CIPHER_SUITES,GRPC_TRACE,GRPC_NODE_TRACE,GRPC_VERBOSITY,GRPC_NODE_VERBOSITY,READABLE_STREAM,TEENY_REQUEST_WARN_CONCURRENT_REQUESTS,DEBUG", \
  "--allow-read=/app,/data", \
  "--allow-write=/data", \
  "--allow-ffi", \
  "--allow-sys=hostname,osRelease,uid,gid,networkInterfaces", \
  "runtime/main.ts"]
