/**
 * What the scheduler reads from central tables other stores write: the orgs whose integration may run, their
 * plans' concurrency and monthly room, and the spans already covered by completed runs and live queue items.
 * Read-only; every tenant value travels as a query parameter.
 */
import { CENTRAL_DATASET } from "./tables.ts";
import type { Warehouse } from "../warehouse/warehouse.ts";

const C = CENTRAL_DATASET;

/** The plan numbers of one org a backfill is measured against; `plan` null when it has no active subscription. */
export interface PlanRoomRow {
  readonly plan: string | null;
  readonly perMonth: number;
  /** Runs created since `monthStart`. */
  readonly used: number;
  /** Queue items QUEUED or CLAIMED. */
  readonly queued: number;
}

export class ScheduleReads {
  constructor(private readonly wh: Warehouse) {}

  /** (org, provider) of every active integration credential that is VALID, of an ACTIVE org. */
  async validIntegrations(): Promise<{ org_slug: string; provider: string }[]> {
    return await this.wh.query<{ org_slug: string; provider: string }>(
      `SELECT c.org_slug, c.provider FROM ${C}.org_integration_credentials c
       JOIN ${C}.org_profiles p ON p.org_slug = c.org_slug
       WHERE c.is_active = TRUE AND c.validation_status = 'VALID' AND p.status = 'ACTIVE'`,
    );
  }

  /** The concurrent runs the active plan of each of `orgs` allows (at least 1; 1 without a plan). */
  async concurrencyLimits(orgs: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.wh.query<{ org_slug: string; max_concurrent_pipelines: number }>(
      `SELECT org_slug, max_concurrent_pipelines FROM ${C}.org_subscriptions
       WHERE org_slug IN (SELECT * FROM UNNEST(@orgs)) AND status = 'ACTIVE' ORDER BY created_at DESC`,
      { orgs: [...orgs] },
    );
    return new Map(orgs.map((org) => {
      const row = rows.find((r) => r.org_slug === org);
      return [org, Math.max(1, Number(row?.max_concurrent_pipelines ?? 1))];
    }));
  }

  /** The org's active plan, its monthly run limit, the runs made since `monthStart` and the items queued. */
  async planRoom(org: string, monthStart: Date): Promise<PlanRoomRow> {
    const [row] = await this.wh.query<Record<string, unknown>>(
      `SELECT
         (SELECT plan_name FROM ${C}.org_subscriptions WHERE org_slug = @org AND status = 'ACTIVE'
          ORDER BY created_at DESC LIMIT 1) AS plan,
         (SELECT max_pipelines_per_month FROM ${C}.org_subscriptions
          WHERE org_slug = @org AND status = 'ACTIVE' ORDER BY created_at DESC LIMIT 1) AS per_month,
         (SELECT COUNT(*) FROM ${C}.org_meta_pipeline_runs
          WHERE org_slug = @org AND created_at >= CAST(@month AS TIMESTAMP)) AS used,
         (SELECT COUNT(*) FROM ${C}.org_pipeline_execution_queue
          WHERE org_slug = @org AND status IN ('QUEUED', 'CLAIMED')) AS queued`,
      { org, month: monthStart.toISOString() },
    );
    const plan = row?.plan === null || row?.plan === undefined ? null : String(row.plan);
    return { plan, perMonth: Number(row?.per_month), used: Number(row?.used), queued: Number(row?.queued) };
  }

  /**
   * The params of the org's COMPLETED runs and live (QUEUED, CLAIMED) items of `path` whose logical day lies in
   * `from..to` (`YYYY-MM-DD`).
   */
  async coveringParams(org: string, path: string, from: string, to: string): Promise<unknown[]> {
    const window = { org, path, from, to };
    const [runs, live] = await Promise.all([
      this.wh.query<{ params: unknown }>(
        `SELECT params FROM ${C}.org_meta_pipeline_runs WHERE org_slug = @org AND pipeline_path = @path
         AND status = 'COMPLETED' AND logical_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)`,
        window,
      ),
      this.wh.query<{ params: unknown }>(
        `SELECT params FROM ${C}.org_pipeline_execution_queue WHERE org_slug = @org
         AND pipeline_path = @path AND status IN ('QUEUED', 'CLAIMED')
         AND logical_date BETWEEN CAST(@from AS DATE) AND CAST(@to AS DATE)`,
        window,
      ),
    ]);
    return [...runs, ...live].map((r) => r.params);
  }
}
