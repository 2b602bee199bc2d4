/**
 * The `reload` block of a pipeline (late data re-pulled by each scheduled daily run): only a daily or cron
 * schedule has one, a window wider than the logical day needs the range params `start_date` and `end_date`, and a
 * provider whose past cannot be re-pulled (catalogue `backfillable: false`) may not ask for one.
 */
import type { PipelineConfig } from "./dsl.ts";
import type { Diagnostic, SourceMap } from "./diagnostics.ts";
import type { ReloadDef } from "../src/pipeline/module.ts";
import { providerBySlug, type ProviderEntry } from "../src/providers/catalogue.ts";

/** The pipeline's reload window, or undefined when it has none or it is refused (with a diagnostic). */
export function checkReload(
  cfg: PipelineConfig,
  fromDefaults: boolean,
  map: SourceMap,
  diagnostics: Diagnostic[],
): ReloadDef | undefined {
  const r = cfg.reload;
  if (!r) return undefined;
  const own = (message: string) => diagnostics.push(map.diagnostic(["reload"], message, "E_RELOAD"));
  // A default reload is reported at the pipeline's file, where the fix (its own `reload:`) goes.
  const at = fromDefaults
    ? (message: string) =>
      diagnostics.push(
        map.diagnostic(
          ["integration"],
          `${message} (the reload of configs/_defaults.yml applies; state reload: { trailing_days: 1 })`,
          "E_RELOAD",
        ),
      )
    : own;
  if (cfg.schedule === undefined || cfg.schedule === "monthly") {
    own(`reload applies to a daily or cron schedule only, not ${cfg.schedule ?? "an unscheduled pipeline"}`);
    return undefined;
  }
  const wide = r.trailing_days > 1 || r.previous_month_until_day > 0;
  const provider: ProviderEntry | undefined = cfg.integration ? providerBySlug(cfg.integration) : undefined;
  if (wide && provider && !provider.backfillable) {
    at(
      `provider "${provider.slug}" cannot re-pull past days, so reload must cover the logical day only ` +
        `(trailing_days: 1, previous_month_until_day: 0): ${provider.noBackfillReason}`,
    );
    return undefined;
  }
  const range = ["start_date", "end_date"].every((n) => cfg.params[n] && !cfg.params[n]!.alias_of);
  if (wide && !range) {
    at(`a reload window wider than one day needs the params start_date and end_date (not shorthands)`);
    return undefined;
  }
  return { trailingDays: r.trailing_days, previousMonthUntilDay: r.previous_month_until_day };
}
