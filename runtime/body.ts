/** Request bodies: JSON objects only, parsed once, with errors in the API's shape. */
import type { Context } from "hono";
import { z } from "zod";
import { badRequest } from "./errors.ts";
import { AppError } from "../src/errors/mod.ts";
import { describeIssues } from "../src/pipeline/run_sync.ts";

/** The JSON body as an object; an empty body is `{}`. Malformed JSON or a non-object is 400. */
export async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("INVALID_JSON", "Request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("INVALID_BODY", "Request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** Parses the body with a (strict) zod schema; errors name the field. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const r = schema.safeParse(await jsonBody(c));
  if (!r.success) throw new AppError("VALIDATION_ERROR", describeIssues(r.error.issues));
  return r.data;
}
