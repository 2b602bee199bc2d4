/**
 * The runtime: the Hono app, its middleware and routes, and start-up.
 *
 * @example
 * ```ts
 * const server = await startServer({ PORT: "0", DATA_DIR: "/tmp/conv" });
 * await fetch(`${server.url}/health`);
 * await server.shutdown();
 * ```
 * @module
 */
export { createApp } from "./app.ts";
export { loadSettings, productionProblems, type Settings } from "./config.ts";
export { Logger, redact } from "./logger.ts";
export { buildDeps, resolveRootKey, startServer, startupError } from "./server.ts";
