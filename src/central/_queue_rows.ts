/** The rows of the execution queue as the queue store reads and writes them, and the key that dedupes them. */

export interface QueueItem {
  queue_id: string;
  org_slug: string;
  pipeline_path: string;
  logical_date: string;
  params: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
}

/** A FAILED queue item, as re-queueing reads it. */
export interface FailedItem {
  queue_id: string;
  org_slug: string;
  pipeline_path: string;
  logical_date: string;
  params: unknown;
  last_error: string | null;
}

export interface Candidate {
  org_slug: string;
  pipeline_path: string;
  pipeline_id: string;
  schedule: string;
  logical_date: string;
  params: Record<string, unknown>;
}

export function dedupeKey(org: string, path: string, day: string): string {
  return `${org}|${path}|${day}`;
}

/** A queue row's state as shown: its status, or DEFERRED for a QUEUED item waiting for a plan-limit reset. */
export const STATE_SQL =
  `CASE WHEN status = 'QUEUED' AND last_error LIKE 'deferred:%' AND not_before > CAST(@now AS TIMESTAMP)
  THEN 'DEFERRED' ELSE status END`;
