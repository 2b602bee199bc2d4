/** Helpers shared by the provider client tests. */
import assert from "node:assert/strict";
import { ProviderError, type ProviderHttpOptions } from "../../src/providers/http.ts";

/** HTTP options that never really wait: every backoff is recorded in `waits` and resolves at once. */
export function fastRetries(extra: ProviderHttpOptions = {}): ProviderHttpOptions & { waits: number[] } {
  const waits: number[] = [];
  return {
    baseDelayMs: 10,
    random: () => 0.5,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    ...extra,
    waits,
  };
}

/** Awaits `promise`, asserts it failed with a ProviderError, and returns that error. */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

/** Drains an async generator into an array. */
export async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(page);
  return out;
}

/** Asserts that no part of `secret` (whole, or its distinctive tail) occurs in `text`. */
export function assertNoSecret(text: string, secret: string): void {
  assert.ok(!text.includes(secret), `the secret leaked into: ${text}`);
  assert.ok(!text.includes(secret.slice(-6)), `the secret's tail leaked into: ${text}`);
}

/** A one-route local server for shapes the stand-ins do not produce. */
export function serveJson(answer: (req: Request) => Response | Promise<Response>) {
  const seen: URL[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push(new URL(req.url));
    return answer(req);
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}
