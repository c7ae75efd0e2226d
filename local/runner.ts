import { createReadStream, createWriteStream, readFileSync, statSync, type WriteStream } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { DEFAULT_CONFIG } from "../shared/config/defaults.js";
import { parseConfig } from "../shared/config/load.js";
import type { PipelineConfig } from "../shared/config/types.js";
import { SettingsError } from "../shared/errors.js";
import { evaluateDetections } from "../shared/eval/truth.js";
import { createGenerator } from "../shared/generator/index.js";
import type { LogGenerator } from "../shared/generator/types.js";
import { formatLogLine } from "../shared/log/parse.js";
import { MAX_LINE_BYTES } from "../shared/log/schema.js";
import { Pipeline } from "../shared/pipeline.js";
import { SimulatedExecutor } from "../shared/remediation/simulated-executor.js";
import { showControlCharacters } from "../shared/sinks/escape.js";
import type { Sink } from "../shared/sinks/sink.js";
import type { RunOptions } from "./args.js";
import { appendAuditRecords } from "./audit-file.js";
import { type RunDashboard, startRunDashboard } from "./dashboard/index.js";
import { followLines } from "./follow.js";
import { openRunHistory } from "./history/open-run-history.js";
import { idleTick, type LineReader, openLineReader } from "./ingest-input.js";
import { type InputLine, readBoundedLines } from "./lines.js";
import { LogGroupShipping } from "./log-shipping.js";
import { outputPathProblem } from "./output-paths.js";
import { buildReport, type LocalReport } from "./report.js";
import { Responder } from "./responder.js";
import { buildSinks } from "./sinks/configured.js";
import { ConsoleSink } from "./sinks/console.js";
import { JsonlFileSink } from "./sinks/jsonl-file.js";
import { StatusLine } from "./status.js";
import { TimeDriver } from "./time.js";

export interface RunIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  stdin: Readable;
  /** Wall clock in milliseconds; tests may pass a fake one. */
  now?: () => number;
  /** Environment for AWS settings (`--ship-to-log-group`); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Ends a `--follow` run (the CLI aborts it on Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Simulated time advances in steps of this size; everything between two steps is processed
 * together, and responses (notifications, remediation) happen at step boundaries. Fixed steps make a
 * paced run deterministic: the wall clock only decides when a step runs, never what it contains.
 */
const STEP_MS = 1000;

/** Incidents starting this close to the end of a generated run are left out of precision and recall. */
const UNSCORED_TAIL_MS = 300_000;

export function loadConfig(path: string | null): PipelineConfig {
  if (path === null) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new SettingsError(
      `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      { cause: error },
    );
  }
  const result = parseConfig(text, path.endsWith(".json") ? "json" : "auto");
  if (!result.ok) {
    throw new SettingsError(
      `invalid config ${path}:\n${result.errors.map((e: { message: string }) => `  - ${e.message}`).join("\n")}`,
    );
  }
  return result.config;
}

/** Refuse unwritable output paths up front (exit 2), before any work that would then be lost. */
export function checkOutputPaths(options: RunOptions): void {
  for (const [flag, path] of [
    ["--report", options.reportPath],
    ["--alerts", options.alertsPath],
    ["--audit", options.auditPath],
    ["--write-logs", options.writeLogsPath],
  ] as const) {
    if (path === null) continue;
    const problem = outputPathProblem(flag, path);
    if (problem !== null) throw new SettingsError(problem);
  }
}

export async function runLocal(options: RunOptions, io: RunIo): Promise<LocalReport> {
  const wallNow = io.now ?? (() => performance.now());
  checkOutputPaths(options);
  const baseConfig = loadConfig(options.configPath);
  const config: PipelineConfig = options.dryRun
    ? { ...baseConfig, remediation: { ...baseConfig.remediation, dry_run: true } }
    : baseConfig;

  const status = new StatusLine(
    io.stdout,
    options.quiet ? "off" : io.stdout.isTTY === true ? "tty" : "plain",
  );
  // Remediation and escalation lines quote targets and details taken from log content.
  const say = (line: string) => {
    if (!options.quiet) status.print(showControlCharacters(line));
  };

  const sinks: Sink[] = [];
  if (!options.quiet) sinks.push(new ConsoleSink(status.stream, { color: status.interactive }));
  if (options.alertsPath) sinks.push(new JsonlFileSink(options.alertsPath));
  sinks.push(...buildSinks(config.sinks, options.webhooks, io.env ?? process.env));

  let generator: LogGenerator | null = null;
  const executor = new SimulatedExecutor({
    log: (line: string) => say(`  remediation: ${line}`),
    onExecute: (action) => {
      if (!action.dryRun) generator?.applyRemediation(action);
    },
  });
  // Generated time is this run's own clock (the wall clock at --speed 1); a replay bounds event
  // time by the stream's own progress instead (docs/architecture.md, "Time").
  const pipeline = new Pipeline({ config, timeReference: options.input === null ? "wall" : "stream" });
  const responder = new Responder(
    pipeline,
    config,
    sinks,
    executor,
    (outcome) => say(`  ESCALATION: ${outcome.actionType} on ${outcome.alertFingerprint} ${outcome.detail}`),
    {
      // Episodes feed the evaluation against ground truth, which only a generated run has.
      keepEpisodes: options.input === null,
      // The audit trail is written (or, without --audit, dropped) after every step, never held for
      // the whole run: 100k incidents would otherwise keep close to a million records in memory.
      onAudit: (records) => {
        if (options.auditPath) appendAuditRecords(options.auditPath, records);
        history?.collectAudit(records);
      },
    },
  );
  const time = new TimeDriver(pipeline, responder);
  const dashboard: RunDashboard | null =
    options.dashboard === null
      ? null
      : await startRunDashboard(options.dashboard, {
          pipeline,
          responder,
          truth: () => (options.input === null ? (generator?.truth ?? []) : null),
          unscoredTailMs: UNSCORED_TAIL_MS,
          env: io.env ?? process.env,
          print: (line) => status.print(line),
        });
  const history = openRunHistory(options, (line) => io.stderr.write(`warning: ${line}\n`));
  const logSink = options.writeLogsPath ? createWriteStream(options.writeLogsPath) : null;
  let shipping: LogGroupShipping | null = null;
  if (options.shipLogGroup !== null) {
    try {
      shipping = new LogGroupShipping(
        options.shipLogGroup,
        options.shipLogStream,
        io.env ?? process.env,
        wallNow,
        (line) => io.stderr.write(`warning: ${line}\n`),
      );
    } catch (error) {
      throw new SettingsError((error as Error).message, { cause: error });
    }
  }

  const wallStart = wallNow();
  let reader: LineReader | null = null;
  let firstEventMs: number | null = null;
  let lastEventMs: number | null = null;

  const refreshStatus = () =>
    `${pipeline.stats.events.toLocaleString("en-US")} events, ` +
    `${Math.round(pipeline.stats.events / Math.max((wallNow() - wallStart) / 1000, 0.001)).toLocaleString("en-US")} ev/s | ` +
    `${pipeline.firingAlerts().length} firing | ${responder.stats.notifications} notifications | ` +
    `${Object.values(responder.stats.actions).reduce((sum, t) => sum + (t?.executed ?? 0), 0)} actions | ` +
    `${Object.values(pipeline.stats.rejected).reduce((sum, n) => sum + (n ?? 0), 0)} rejected`;

  if (options.input === null) {
    const startMs = options.startMs ?? Math.floor(Date.now() / 1000) * 1000;
    generator = createGenerator({
      seed: options.seed,
      startMs,
      minIntervalS: options.minIntervalS,
      maxIntervalS: options.maxIntervalS,
    });
    const endMs =
      options.speed === "max" ? Number.POSITIVE_INFINITY : startMs + options.durationS * options.speed * 1000;
    let next = generator.next();
    firstEventMs = next.timeMs;
    for (let stepEnd = startMs + STEP_MS; stepEnd <= endMs; stepEnd += STEP_MS) {
      pipeline.setWallClock(stepEnd);
      const stepLines: string[] = [];
      while (next.timeMs < stepEnd) {
        const line = formatLogLine(next);
        logSink?.write(`${line}\n`);
        shipping?.add(next.timeMs, line);
        stepLines.push(line);
        lastEventMs = next.timeMs;
        next = generator.next();
      }
      pipeline.ingestLines(stepLines);
      await time.advanceTo(stepEnd);
      await history?.afterStep(responder, pipeline);
      await shipping?.flushIfDue();

      const wallElapsedMs = wallNow() - wallStart;
      if (options.speed === "max") {
        if (wallElapsedMs >= options.durationS * 1000) break;
        // Yield now and then so the status line and signals get a turn.
        if ((stepEnd - startMs) % 60_000 === 0) await sleep(0);
      } else {
        const dueWallMs = (stepEnd - startMs) / options.speed;
        if (dueWallMs > wallElapsedMs + 5) await sleep(dueWallMs - wallElapsedMs);
      }
      status.tick(refreshStatus);
    }
  } else {
    const inputPath = options.input;
    if (options.follow && inputPath === "-")
      throw new SettingsError("--follow needs a file, not standard input");
    reader = openLineReader(options, pipeline);
    const lineReader = reader;
    const source = inputPath === "-" ? "stdin" : inputPath;
    // One character more than the parser's limit: a trailing "\r" must not push a line over it.
    const lines: AsyncIterable<InputLine> = options.follow
      ? asInputLines(
          followLines(inputPath, { signal: io.signal, onIdle: () => idleTick(time, pipeline, lineReader) }),
        )
      : readBoundedLines(inputPath === "-" ? io.stdin : openInput(inputPath), MAX_LINE_BYTES + 1);
    let count = 0;
    for await (const read of lines) {
      if (read.kind === "too_long") {
        reader.rejectTooLong(read.chars);
        continue;
      }
      const line = read.text;
      // Each line is read in its format (--format); its event then goes through the time checks.
      const result = reader.ingestLine(line);
      if (result.status === "event" && (await time.event(result.event, source))) {
        shipping?.add(result.event.timeMs, line);
      }
      if (++count % 4096 === 0) {
        status.tick(refreshStatus);
        await shipping?.flushIfDue();
        await history?.afterStep(responder, pipeline);
      }
    }
    // The replay ends as if time ran on past the last line until everything due has happened:
    // groups sent, alerts resolved (no_data included), remediation outcomes checked.
    await time.finish();
    await history?.afterStep(responder, pipeline);
    firstEventMs = time.firstEventMs;
    lastEventMs = time.lastEventMs;
  }

  // Generated runs deliver what is still waiting in a group: the run ended, nothing more joins it.
  if (options.input === null && lastEventMs !== null) {
    const drainMs = Math.max(pipeline.nowMs, lastEventMs) + config.alerting.group_wait_s * 1000 + STEP_MS;
    await time.advanceTo(drainMs);
    await history?.afterStep(responder, pipeline);
  }
  await dashboard?.finish();
  await shipping?.flush();
  reader?.close();
  status.clear();
  if (logSink) await closeStream(logSink);
  await history?.close();

  // An incident that began in the run's last moments had no fair chance to be detected: it is left
  // out of recall, and alerts about it are left out of precision (rather than counted as false).
  const evaluation =
    generator === null
      ? null
      : evaluateDetections(generator.truth, responder.episodes, {
          unscoredFromMs: (lastEventMs ?? Number.POSITIVE_INFINITY) - UNSCORED_TAIL_MS,
        });
  return buildReport({
    options,
    pipeline,
    responder,
    evaluation,
    firstEventMs,
    lastEventMs,
    shipping: shipping?.report ?? null,
    wallSeconds: (wallNow() - wallStart) / 1000,
    input: reader?.summary() ?? null,
    history: history?.report ?? null,
  });
}

function openInput(path: string): Readable {
  try {
    if (!statSync(path).isFile()) throw new SettingsError(`--input ${path} is not a file`);
  } catch (error) {
    if (error instanceof SettingsError) throw error;
    throw new SettingsError(
      `cannot read --input ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      {
        cause: error,
      },
    );
  }
  return createReadStream(path, { encoding: "utf8" });
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) =>
    stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

async function* asInputLines(lines: AsyncIterable<string>): AsyncGenerator<InputLine> {
  for await (const text of lines) yield { kind: "line", text };
}
