/**
 * Stored responses of `Idempotency-Key` requests (`org_idempotency_keys`): the one writer and reader of the
 * table. A request claims its key with a pending row (`status_code` null, the claim id in `response`); the
 * earliest claim of a key wins; the winner replaces its pending row by the response, or releases it. The
 * protocol around these rows (waiting, replay, sealing secrets) is runtime/idempotency.ts.
 */
import type { Warehouse, WarehouseTx } from "../warehouse/warehouse.ts";
import type { TableSchema } from "../schema/table_schema.ts";
import { CENTRAL_DATASET, tableOf, type TableSchemas } from "./tables.ts";

const TABLE = `${CENTRAL_DATASET}.org_idempotency_keys`;

/** A stored row of a key: pending (`status_code` null) or an answer. */
export interface StoredResponse {
  request_hash: string;
  status_code: number | null;
  response: Record<string, unknown> | null;
  created_at: string;
}

/** A key a request holds (its pending row); `scope` is `_root` or the org. */
export interface HeldKey {
  readonly scope: string;
  readonly key: string;
  readonly claimId: string;
  readonly hash: string;
  readonly method: string;
  readonly path: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export class IdempotencyStore {
  readonly #table: TableSchema;

  /** @throws {Error} when `tables` lacks org_idempotency_keys */
  constructor(private readonly wh: Warehouse, tables: TableSchemas) {
    this.#table = tableOf(tables, "org_idempotency_keys");
  }

  /** Whether the table exists (before bootstrap there is nowhere to keep keys). */
  ready(): Promise<boolean> {
    return this.wh.tableExists(CENTRAL_DATASET, this.#table.table);
  }

  /** The earliest unexpired row of the key (an answer before a pending row of the same instant). */
  async find(scope: string, key: string, now: Date): Promise<StoredResponse | undefined> {
    const rows = await this.wh.query<StoredResponse>(
      `SELECT request_hash, status_code, response, created_at FROM ${TABLE}
       WHERE org_slug = @scope AND idempotency_key = @key AND expires_at > CAST(@now AS TIMESTAMP)
       ORDER BY created_at, status_code NULLS LAST LIMIT 1`,
      { scope, key, now: now.toISOString() },
    );
    return rows[0];
  }

  /**
   * Deletes expired rows, writes the pending row of `held` and resolves whether it is the earliest claim of its
   * key (claim ids sort by time). A claim that lost is released again before this resolves false.
   */
  async claim(held: HeldKey, now: Date): Promise<boolean> {
    await this.wh.execute(`DELETE FROM ${TABLE} WHERE expires_at <= CAST(@now AS TIMESTAMP)`, {
      now: now.toISOString(),
    });
    await this.wh.insertRows(CENTRAL_DATASET, this.#table, [row(held, null, { claim_id: held.claimId })]);
    let claims: { claim_id: string | null }[];
    try {
      claims = await this.wh.query<{ claim_id: string | null }>(
        `SELECT ${this.#claimOf()} AS claim_id FROM ${TABLE}
         WHERE org_slug = @scope AND idempotency_key = @key`,
        { scope: held.scope, key: held.key },
      );
    } catch (err) {
      await this.release(held.scope, held.key, held.claimId).catch(() => {});
      throw err;
    }
    const first = claims.map((r) => r.claim_id ?? "").sort()[0];
    if (first === held.claimId) return true;
    await this.release(held.scope, held.key, held.claimId);
    return false;
  }

  /** Replaces the pending row of `held` by the answer (`response` already sealed), in the caller's `tx`. */
  async storeIn(tx: WarehouseTx, held: HeldKey, status: number, response: Record<string, unknown>): Promise<void> {
    await tx.execute(
      `DELETE FROM ${TABLE} WHERE org_slug = @scope AND idempotency_key = @key AND status_code IS NULL
       AND ${this.#claimOf()} = @claim`,
      { scope: held.scope, key: held.key, claim: held.claimId },
    );
    await tx.insertRows(CENTRAL_DATASET, this.#table, [row(held, status, response)]);
  }

  /** Deletes the pending row of claim `claimId` (an answer is kept). */
  async release(scope: string, key: string, claimId: string): Promise<void> {
    await this.wh.execute(
      `DELETE FROM ${TABLE} WHERE org_slug = @scope AND idempotency_key = @key AND status_code IS NULL
       AND coalesce(${this.#claimOf()}, '') = @claim`,
      { scope, key, claim: claimId },
    );
  }

  /** The pending row's claim id as SQL text: `json_extract_string` on DuckDB, `JSON_VALUE` on BigQuery. */
  #claimOf(): string {
    return `${this.wh.kind === "duckdb" ? "json_extract_string" : "JSON_VALUE"}(response, '$.claim_id')`;
  }
}

function row(held: HeldKey, status: number | null, response: Record<string, unknown>): Record<string, unknown> {
  return {
    org_slug: held.scope,
    idempotency_key: held.key,
    request_hash: held.hash,
    method: held.method,
    path: held.path,
    status_code: status,
    response,
    created_at: held.createdAt,
    expires_at: held.expiresAt,
  };
}
