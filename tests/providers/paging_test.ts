/**
 * Cursor pagination: the next page is requested while the consumer works on the current one, a prefetch that
 * fails surfaces from the iterator (never as an unhandled rejection), and malformed cursors still fail after the
 * page that carried them.
 */
import assert from "node:assert/strict";
import { type CursorPage, paginate } from "../../src/providers/_paging.ts";
import { ProviderError } from "../../src/providers/http.ts";

interface Page extends CursorPage {
  readonly n: number;
}

const WHO = { provider: "test", endpoint: "/pages" };
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("the next page is requested before the consumer is done with the current one", async () => {
  const requested: (string | undefined)[] = [];
  const fetchPage = (cursor: string | undefined): Promise<Page> => {
    requested.push(cursor);
    const n = cursor === undefined ? 1 : Number(cursor);
    return Promise.resolve({ n, has_more: n < 3, next_page: n < 3 ? String(n + 1) : null });
  };
  const seen: number[] = [];
  for await (const page of paginate(WHO, fetchPage)) {
    // While page n is being handled, page n + 1 has already been asked for (and no further).
    assert.deepEqual(requested, page.n < 3 ? [undefined, ...range(2, page.n + 1)] : [undefined, "2", "3"]);
    seen.push(page.n);
    await tick(5);
  }
  assert.deepEqual(seen, [1, 2, 3]);
  assert.deepEqual(requested, [undefined, "2", "3"], "a page was requested twice or past the last");
});

function range(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
}

Deno.test("a prefetch failing while the consumer is busy surfaces from the iterator after the good pages", async () => {
  const fetchPage = async (cursor: string | undefined): Promise<Page> => {
    if (cursor === "2") {
      await tick(1);
      throw new ProviderError({ ...WHO, kind: "unavailable", status: 500, detail: "page 2 broke" });
    }
    return { n: 1, has_more: true, next_page: "2" };
  };
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const page of paginate(WHO, fetchPage)) {
        seen.push(page.n);
        await tick(30); // the prefetch fails meanwhile; an unhandled rejection would fail this test
      }
    })(),
    (e: unknown) => e instanceof ProviderError && /page 2 broke/.test(e.message),
  );
  assert.deepEqual(seen, [1]);
});

Deno.test("a consumer that stops early leaves the prefetch to finish unobserved", async () => {
  let failed = false;
  const fetchPage = async (cursor: string | undefined): Promise<Page> => {
    if (cursor !== undefined) {
      await tick(1);
      failed = true;
      throw new Error("nobody reads this page");
    }
    return { n: 1, has_more: true, next_page: "2" };
  };
  for await (const _ of paginate(WHO, fetchPage)) break;
  await tick(20);
  assert.ok(failed, "the prefetch was not made");
});

Deno.test("a repeated or missing cursor fails after the page that carried it", async () => {
  for (const next of ["1", null]) {
    const seen: number[] = [];
    const fetchPage = (cursor: string | undefined): Promise<Page> =>
      Promise.resolve(
        cursor === undefined ? { n: 1, has_more: true, next_page: "1" } : { n: 2, has_more: true, next_page: next },
      );
    await assert.rejects(
      (async () => {
        for await (const page of paginate(WHO, fetchPage)) seen.push(page.n);
      })(),
      (e: unknown) => e instanceof ProviderError && e.kind === "malformed",
    );
    assert.deepEqual(seen, [1, 2]);
  }
});
