import type { SilenceMatchers } from "../../shared/alerts/silence.js";
import type { Pipeline } from "../../shared/pipeline.js";

export interface SilenceRequest {
  matchers: SilenceMatchers;
  /** How long it holds, in event time from the pipeline's current time. */
  durationMs: number;
  reason: string;
  /** Who asked (shown in the timeline). */
  createdBy: string;
}

export interface CreatedSilence {
  id: string;
  expiresAtMs: number;
}

/**
 * Where the dashboard's silence button creates silences. Today: the running pipeline's alert
 * manager (lost when the run ends). The alert history store's silences can implement the same
 * interface later, so the button keeps working unchanged.
 */
export interface SilenceControl {
  /** Throws an Error with a user-facing message when the request is invalid. */
  create(request: SilenceRequest): Promise<CreatedSilence>;
}

export const MAX_SILENCE_MS = 7 * 24 * 3600 * 1000;

/** Silences held by the pipeline of this run (the alert manager's runtime silences). */
export class PipelineSilenceControl implements SilenceControl {
  constructor(private readonly pipeline: Pipeline) {}

  async create(request: SilenceRequest): Promise<CreatedSilence> {
    if (
      !Number.isFinite(request.durationMs) ||
      request.durationMs <= 0 ||
      request.durationMs > MAX_SILENCE_MS
    ) {
      throw new Error(`duration must be between 1 ms and ${MAX_SILENCE_MS / 3600_000} h of event time`);
    }
    const now = this.pipeline.nowMs;
    if (!Number.isFinite(now)) throw new Error("no events yet: a silence needs the run's event time");
    const expiresAtMs = now + request.durationMs;
    const id = this.pipeline.addSilence({
      matchers: request.matchers,
      expiresAtMs,
      reason: `${request.reason} (by ${request.createdBy})`,
    });
    return { id, expiresAtMs };
  }
}
