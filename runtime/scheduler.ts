/**
 * Registers one Deno.cron job per distinct schedule in the manifest. A tick only enqueues (idempotent per
 * org, pipeline and logical date), so several instances ticking at once still make one run each. A daily tick
 * covers the day before; a monthly tick (the 1st) covers its month, logical date the 1st.
 */
import type { AppDeps } from "./context.ts";
import { pipelines } from "../generated/manifest.ts";
import { scheduledPipelines } from "../src/scheduler/scheduler.ts";
import { DAILY_TICK_HOUR, MONTHLY_TICK_HOUR, tickLogicalDay } from "../src/scheduler/calendar.ts";

/** Cron expression (UTC) of a schedule: daily at 02:00, monthly on the 1st at 03:00, or the expression itself. */
export function cronOf(schedule: string): string {
  if (schedule === "daily") return `0 ${DAILY_TICK_HOUR} * * *`;
  if (schedule === "monthly") return `0 ${MONTHLY_TICK_HOUR} 1 * *`;
  return schedule;
}

export function registerCron(deps: AppDeps): string[] {
  const bySchedule = new Map<string, string[]>();
  for (const p of scheduledPipelines(pipelines)) {
    bySchedule.set(p.schedule!, [...(bySchedule.get(p.schedule!) ?? []), p.path]);
  }
  const names: string[] = [];
  for (const [schedule, paths] of bySchedule) {
    const name = `convergence-${schedule.replace(/[^a-z0-9]+/gi, "-")}`;
    Deno.cron(name, cronOf(schedule), async () => {
      try {
        await deps.scheduler.enqueueDay(tickLogicalDay(schedule, deps.now()), { trigger: "cron", paths });
      } catch (err) {
        deps.logger.error("scheduled enqueue failed", { schedule, error: err });
      }
    });
    names.push(name);
  }
  deps.logger.info("scheduler registered", { jobs: names });
  return names;
}
