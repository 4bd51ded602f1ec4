# The server in a container: the official Deno image, dependencies cached at
# build time, run as the image's non-root `deno` user with the same `server`
# permission set as `deno task start`. Recipe and reasons: docs/deploy.md.
#
#   docker build -t retell-llm-server .
#   docker run --rm -p 8080:8080 --env-file .env \
#     --ulimit nofile=65536:65536 retell-llm-server
#
# The Deno version must match the one .ci/run installs (tests/deploy_test.ts
# checks it).
FROM denoland/deno:2.9.6

# The image's entrypoint (tini, then deno) forwards the stop signal to the
# server. `docker stop` waits 10 s before SIGKILL; the server needs at most
# SHUTDOWN_GRACE_MS (default 3000) to let in-flight responses finish.
STOPSIGNAL SIGTERM

# Deno's own update check fetches from the internet; a container never upgrades
# itself.
ENV DENO_NO_UPDATE_CHECK=1

WORKDIR /app

# A place for a Deno KV file (KV_PATH=/data/calls.sqlite3): a named volume
# mounted here starts out owned by `deno`.
RUN mkdir /data && chown deno:deno /data

# The application's files stay owned by root, so the server cannot change them;
# only DENO_DIR (/deno-dir/) and /data are writable.
USER deno

# Dependencies first: this layer is rebuilt only when deno.json or deno.lock
# change. --frozen-lockfile fails the build instead of resolving new versions.
COPY deno.json deno.lock ./
RUN deno install --frozen-lockfile

# The code, then everything main.ts imports cached (and type-checked), so the
# server starts without fetching anything (--cached-only below).
COPY main.ts ./
COPY src/ ./src/
RUN deno install --frozen-lockfile --entrypoint main.ts

EXPOSE 8080

# No curl in the image: deno itself asks /healthz, which answers 503 while the
# server is stopping. Uses PORT, as the server does.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["deno", "eval", "--no-config", "const port = Deno.env.get('PORT') || '8080'; const res = await fetch('http://127.0.0.1:' + port + '/healthz', { signal: AbortSignal.timeout(3000) }).catch(() => undefined); Deno.exit(res?.ok ? 0 : 1);"]

# Not `deno task start`: the task runner would add a shell between the signal
# and the server, and read a .env the image does not have. Settings come from
# the container's environment (docker run --env-file, -e, or the orchestrator).
CMD ["run", "--no-prompt", "--cached-only", "-P=server", "--v8-flags=--max-semi-space-size=16", "main.ts"]
