import type { StateStore } from "../aws/state.js";
import type { Logger } from "./log.js";

/** What every state-keeping handler (processor, remediator) is built with. */
export interface StatefulHandlerOptions {
  store: StateStore;
  logger: Logger;
  /** Where EMF metric lines go (stdout in Lambda). */
  writeMetrics: (line: string) => void;
  stateKey?: string;
  /** Remaining time assumed when the caller passes no Lambda context (local runs, tests). Default 60 s. */
  defaultRemainingMs?: number;
  /** Save attempts when concurrent invocations race on the state. Default 5. */
  maxConflictRetries?: number;
}
