import type { InputLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import { createGenerator } from "../../shared/generator/index.js";
import { formatLogLine } from "../../shared/log/parse.js";
import type { ShipResult } from "../aws/cloudwatch-logs.js";

export interface Shipper {
  ship(events: readonly InputLogEvent[]): Promise<ShipResult>;
}

export interface WindowOptions {
  /** Base seed; each hour derives its own from it and the hour, so reruns are identical. */
  seed: number;
  startMs: number;
  endMs: number;
  minIntervalS: number;
  maxIntervalS: number;
}

/**
 * The simulated world restarts at every whole hour (UTC): each hour is one seeded generator run.
 * Windows inside the hour continue it, so incidents span invocations the way they would on a real
 * host, while a window never needs to replay more than an hour of events to get to its start.
 */
export const EPOCH_MS = 3600 * 1000;

/**
 * The log lines of one time window, [startMs, endMs), as CloudWatch input events. The same window
 * and seed always give the same lines (a retried scheduled invocation re-sends the same data), and
 * consecutive windows join up into one continuous stream.
 */
export function generateWindow(options: WindowOptions): InputLogEvent[] {
  const events: InputLogEvent[] = [];
  for (
    let epoch = Math.floor(options.startMs / EPOCH_MS) * EPOCH_MS;
    epoch < options.endMs;
    epoch += EPOCH_MS
  ) {
    const generator = createGenerator({
      seed: windowSeed(options.seed, epoch),
      startMs: epoch,
      minIntervalS: options.minIntervalS,
      maxIntervalS: options.maxIntervalS,
    });
    const stopMs = Math.min(options.endMs, epoch + EPOCH_MS);
    for (let event = generator.next(); event.timeMs < stopMs; event = generator.next()) {
      if (event.timeMs >= options.startMs)
        events.push({ timestamp: event.timeMs, message: formatLogLine(event) });
    }
  }
  return events;
}

/** A 32-bit seed mixing the base seed and the window start (in seconds). */
export function windowSeed(seed: number, startMs: number): number {
  return (Math.imul(seed | 0, 0x9e3779b1) ^ Math.floor(startMs / 1000)) >>> 0;
}
