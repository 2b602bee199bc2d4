/** Data-quality checks on a step's output rows, evaluated before anything is written. */
import type { CheckDef } from "./module.ts";

export interface CheckOutcome {
  readonly check: CheckDef;
  readonly passed: boolean;
  readonly observed: number;
  readonly message: string;
}

function isNegative(v: unknown): boolean {
  if (typeof v === "number") return v < 0;
  if (typeof v === "bigint") return v < 0n;
  if (typeof v === "string") return /^\s*-\s*\d*\.?\d*[1-9]/.test(v);
  return false;
}

export function runChecks(checks: readonly CheckDef[], rows: readonly Record<string, unknown>[]): CheckOutcome[] {
  return checks.map((check) => {
    const cols = check.columns ?? [];
    switch (check.check) {
      case "min_rows": {
        const min = check.value ?? 1;
        return {
          check,
          observed: rows.length,
          passed: rows.length >= min,
          message: `${rows.length} rows (minimum ${min})`,
        };
      }
      case "not_null": {
        const bad = rows.filter((r) => cols.some((c) => r[c] === null || r[c] === undefined)).length;
        return { check, observed: bad, passed: bad === 0, message: `${bad} rows with a null in ${cols.join(", ")}` };
      }
      case "non_negative": {
        const bad = rows.filter((r) => cols.some((c) => isNegative(r[c]))).length;
        return { check, observed: bad, passed: bad === 0, message: `${bad} rows with a negative ${cols.join(", ")}` };
      }
      case "unique": {
        const seen = new Set<string>();
        let dup = 0;
        for (const r of rows) {
          const k = JSON.stringify(cols.map((c) => r[c] ?? null));
          if (seen.has(k)) dup++;
          else seen.add(k);
        }
        return { check, observed: dup, passed: dup === 0, message: `${dup} duplicate rows on ${cols.join(", ")}` };
      }
    }
  });
}
