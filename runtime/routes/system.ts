/** Liveness, the OpenAPI document and its interactive reference page (runtime/docs.ts). */
import { z } from "zod";
import { defineRoute, type Route } from "../route.ts";

const health = z.object({
  status: z.enum(["ok", "degraded"]),
  warehouse: z.string().meta({ description: "duckdb or bigquery" }),
  environment: z.string(),
});

export const systemRoutes: readonly Route[] = [
  defineRoute({
    method: "GET",
    path: "/health",
    auth: "none",
    tag: "system",
    summary: "Liveness and warehouse reachability",
    description: "200 while the warehouse answers, 503 (same body, status degraded) while it does not.",
    responses: { 200: { description: "Healthy", schema: health } },
    errors: [503],
    handler: (deps) => async (c) => {
      try {
        await deps.warehouse.ping();
        return c.json({ status: "ok", warehouse: deps.warehouse.kind, environment: deps.settings.environment });
      } catch {
        return c.json(
          { status: "degraded", warehouse: deps.warehouse.kind, environment: deps.settings.environment },
          503,
        );
      }
    },
  }),
  defineRoute({
    method: "GET",
    path: "/api/v1/openapi.json",
    auth: "none",
    tag: "system",
    summary: "This document",
    description: "The OpenAPI 3.1 document of the API (the one generated/openapi.json holds).",
    responses: {
      200: {
        description: "The document",
        schema: z.object({
          openapi: z.string(),
          info: z.record(z.string(), z.unknown()),
          servers: z.array(z.record(z.string(), z.unknown())),
          tags: z.array(z.record(z.string(), z.unknown())),
          paths: z.record(z.string(), z.unknown()),
          components: z.record(z.string(), z.unknown()),
        }),
      },
    },
    handler: (deps) => (c) => c.json(deps.openapi),
  }),
];
