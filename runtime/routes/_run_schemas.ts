/** A run and its steps as the run routes and `?wait=true` show them (columns of the central run and step logs). */
import { z } from "zod";

const text = z.string().nullable();
const int = z.number().int().nullable();
const time = z.string().nullable().meta({ format: "date-time" });

export const stepRow = z.object({
  step_id: z.string(),
  step_index: z.number().int(),
  attempt: z.number().int(),
  ps_type: z.string(),
  status: z.string(),
  output_table: text,
  rows_written: int,
  start_time: time,
  end_time: time,
  duration_ms: int,
  error_message: text,
});

export const stepsOfRun = {
  steps: z.array(stepRow).meta({ description: "Steps of the latest attempt" }),
  previous_attempts: z.array(z.object({ attempt: z.number().int(), steps: z.array(stepRow) })).meta({
    description: "Earlier attempts, oldest first",
  }),
};

export const runRow = z.object({
  run_id: z.string(),
  org_slug: z.string(),
  pipeline_id: z.string(),
  pipeline_path: z.string(),
  status: z.enum(["PENDING", "RUNNING", "COMPLETED", "FAILED"]),
  trigger: z.string(),
  params: z.unknown().meta({ description: "The run's params (JSON)" }),
  logical_date: text.meta({ format: "date" }),
  start_time: time,
  end_time: time,
  duration_ms: int,
  steps_total: int,
  steps_completed: int,
  rows_written: int,
  error_message: text,
  error_code: text,
  attempt: z.number().int(),
  created_at: time,
});
