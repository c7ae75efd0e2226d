import type { ExecutionResult, Executor, RemediationAction } from "./types.js";

export interface SimulatedExecutorOptions {
  /** Where the "would do" lines go (the local runner prints them). */
  log: (line: string) => void;
  /** Called for every executed action; the local runner feeds it back into the simulated world. */
  onExecute?: (action: RemediationAction) => void;
}

/**
 * Executes nothing: says what a real executor would do and reports success. Used locally and in
 * tests, so the whole loop (detect, act, verify) runs without touching infrastructure.
 */
export class SimulatedExecutor implements Executor {
  readonly name = "simulated";

  constructor(private readonly options: SimulatedExecutorOptions) {}

  async execute(action: RemediationAction): Promise<ExecutionResult> {
    const detail = describeAction(action);
    this.options.log(action.dryRun ? `[dry run] ${detail}` : detail);
    try {
      this.options.onExecute?.(action);
    } catch (error) {
      // The callback is the caller's code; its failure is the action's failure, not a crash.
      return {
        status: "error",
        error: `onExecute failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    return { status: "ok", detail };
  }
}

/** "would scale out payment-service by 1 instance", "would block 203.0.113.7 until ...". */
export function describeAction(action: RemediationAction): string {
  const until = action.expiresAtMs === null ? "" : ` until ${new Date(action.expiresAtMs).toISOString()}`;
  switch (action.type) {
    case "scale_out":
      return `would scale out ${action.target} by 1 instance (${action.alertType})`;
    case "restart_service":
      return `would restart ${action.target} (${action.alertType})`;
    case "rollback_deploy":
      return `would roll back the latest deploy of ${action.target} (${action.alertType})`;
    case "block_ip":
      return `would block ${action.target} on ${action.service}${until} (${action.alertType})`;
    case "lock_user":
      return `would lock user ${action.target} on ${action.service}${until} (${action.alertType})`;
  }
}
