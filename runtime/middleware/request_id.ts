/** Request ids: a valid incoming `X-Request-ID` is echoed, anything else is replaced. */
import type { Context } from "hono";

const VALID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Gives the request its id: sets the `requestId` variable and the response header (onError's included). */
export function assignRequestId(c: Context): string {
  const incoming = c.req.header("X-Request-ID");
  const id = incoming && VALID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", id);
  c.header("X-Request-ID", id);
  return id;
}
