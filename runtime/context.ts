/** The Hono env of the app and the dependencies its routes share. */
import type { AuthIdentity } from "./middleware/auth.ts";
import type { Logger } from "./logger.ts";
import type { Settings } from "./config.ts";
import type { PipelineDeps } from "../src/pipeline/run_sync.ts";
import type { RunExecutor } from "../src/pipeline/executor.ts";
import type { Scheduler } from "../src/scheduler/scheduler.ts";

export type AppEnv = { Variables: { requestId: string; auth: AuthIdentity } };

export interface AppDeps extends PipelineDeps {
  readonly settings: Settings;
  readonly logger: Logger;
  readonly rootKey: string;
  /** The root key being rotated out, accepted beside `rootKey` (CA_ROOT_API_KEY_PREVIOUS). */
  readonly previousRootKey?: string;
  readonly executor: RunExecutor;
  readonly scheduler: Scheduler;
}
