import { randomBytes } from "node:crypto";
import { SettingsError } from "../../shared/errors.js";
import { evaluateDetections } from "../../shared/eval/truth.js";
import type { IncidentTruth } from "../../shared/generator/types.js";
import type { Pipeline } from "../../shared/pipeline.js";
import type { Responder } from "../responder.js";
import { LiveAggregator } from "./aggregate.js";
import { startDashboardServer } from "./server.js";
import { PipelineSilenceControl, type SilenceControl } from "./silence-control.js";
import { DashboardState } from "./state.js";

export interface DashboardOptions {
  host: string;
  port: number;
}

export interface DashboardRun {
  pipeline: Pipeline;
  responder: Responder;
  /** Ground truth so far for generated runs (the detection-quality panel); null when replaying. */
  truth: () => readonly IncidentTruth[] | null;
  /** Incidents starting this close to the newest event are not scored yet (as in the report). */
  unscoredTailMs: number;
  env: NodeJS.ProcessEnv;
  /** Where the address and token are printed (always, even with --quiet). */
  print: (line: string) => void;
  /** Replace where silences go (the alert history store, later); default: this run's pipeline. */
  silences?: SilenceControl;
}

/** The runner's handle: `finish` once at the end. */
export interface RunDashboard {
  readonly url: string;
  readonly token: string;
  finish(): Promise<void>;
}

/** At least this long, so a guess is hopeless; DASHBOARD_TOKEN shorter than this is refused. */
const MIN_TOKEN_LENGTH = 16;
/** One chart point per this much wall time, whatever the pace of the run. */
const POINT_EVERY_MS = 1000;

/**
 * `--dashboard`: serve the live dashboard for this run. Per-event work is one call into the
 * aggregator's counters (through Pipeline.observeEvents); a chart point is closed once per wall
 * second (covering whatever event time passed: a second at real-time pace, a minute at --speed 60),
 * so the cost per event does not depend on how sparse the events are in event time. Everything else
 * happens when someone looks.
 */
export async function startRunDashboard(options: DashboardOptions, run: DashboardRun): Promise<RunDashboard> {
  const token = run.env.DASHBOARD_TOKEN?.trim() || randomBytes(16).toString("hex");
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new SettingsError(`DASHBOARD_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  const { pipeline, responder } = run;
  const state = new DashboardState(run.truth() === null ? "replay" : "generated");
  const aggregator = new LiveAggregator();

  const refresh = () => {
    const nowMs = pipeline.nowMs;
    if (!Number.isFinite(nowMs)) return;
    state.observeFiring(pipeline.firingAlerts(), pipeline.activeSilences(nowMs), nowMs);
    state.setTotals({
      nowMs,
      events: pipeline.stats.events,
      rejected: Object.values(pipeline.stats.rejected).reduce((sum, n) => sum + (n ?? 0), 0),
      notifications: responder.stats.notifications,
      actions: Object.values(responder.stats.actions).reduce((sum, t) => sum + (t?.executed ?? 0), 0),
    });
  };

  const server = await startDashboardServer({
    host: options.host,
    port: options.port,
    label: "--dashboard",
    token,
    state,
    silences: run.silences ?? new PipelineSilenceControl(pipeline),
    refresh,
  });
  pipeline.observeEvents(aggregator.observe);
  responder.audit.onRecord((record) => state.record(record));
  if (options.host === "0.0.0.0" || options.host === "::") {
    run.print(`dashboard: listening on every interface (${options.host}), port ${new URL(server.url).port}`);
  }
  run.print(`dashboard: ${server.url}#token=${token}`);
  run.print(
    `dashboard: silence token ${token} (the link above carries it; or send "Authorization: Bearer TOKEN")`,
  );

  const closeInterval = () => {
    const nowMs = pipeline.nowMs;
    if (!Number.isFinite(nowMs)) return;
    const point = aggregator.close(nowMs, pipeline.stats.alertsByType);
    if (point !== null) state.addPoint(point);
    const truth = run.truth();
    if (truth !== null) {
      state.setQuality(
        evaluateDetections(truth, responder.episodes, { unscoredFromMs: nowMs - run.unscoredTailMs }),
      );
    }
  };

  // Timers run between the runner's steps: it yields to the event loop while it goes.
  const timer = setInterval(closeInterval, POINT_EVERY_MS);
  timer.unref();

  return {
    url: server.url,
    token,
    async finish() {
      clearInterval(timer);
      closeInterval();
      refresh();
      state.finish();
      server.broadcast();
      pipeline.observeEvents(null);
      responder.audit.onRecord(null);
      await server.close();
    },
  };
}
