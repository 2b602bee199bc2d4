/**
 * Notices: what a reader of the costs must know to read them right, beside the numbers. Today one kind: a DeepSeek
 * currency whose first balance snapshot falls in the period. DeepSeek has no usage API; its spend is the drop in
 * the balance between two snapshots, so the first snapshot's day has no spend row (the spend before it was never
 * seen), and a new integration shows no DeepSeek spend until its second daily snapshot. `GET /costs` and the
 * reconciliation list the notices; the `deepseek.cost` step logs the same message on the run.
 */
import { money } from "./query.ts";

export type NoticeCode = "FIRST_BALANCE_SNAPSHOT";

export interface Notice {
  readonly provider: string;
  readonly code: NoticeCode;
  readonly message: string;
  readonly days: readonly string[];
}

/** The first snapshot of one currency, as the cost store reads it. */
export interface FirstSnapshot {
  readonly currency: string;
  readonly day: string;
  readonly balance: string;
}

/** The message of a first snapshot (shared by the notice and the run log). */
export function firstSnapshotMessage(s: FirstSnapshot): string {
  return `DeepSeek's first balance snapshot in ${s.currency} (${s.day}, balance ${money(s.balance)}) has nothing ` +
    `earlier to compare with: spend before it is unknown, so ${s.day} has no spend and DeepSeek spend is derived ` +
    `from the next daily snapshot on`;
}

/** One notice per currency whose first snapshot falls in the period. */
export function firstSnapshotNotices(snapshots: readonly FirstSnapshot[]): Notice[] {
  return snapshots.map((s) => ({
    provider: "deepseek",
    code: "FIRST_BALANCE_SNAPSHOT",
    message: firstSnapshotMessage(s),
    days: [s.day],
  }));
}
