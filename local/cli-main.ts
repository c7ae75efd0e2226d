import { writeFileSync } from "node:fs";
import { SettingsError } from "../shared/errors.js";
import { parseRunArgs, USAGE } from "./args.js";
import { formatSummary } from "./report.js";
import { type RunIo, runLocal } from "./runner.js";

/**
 * `npm run local`: parse flags, run, print the summary, write the report. Returns the exit code: 2 on
 * a user error (bad flag, configuration, input file or output path), 1 on an unexpected failure. Kept apart from
 * the entry point so tests run the whole command in process.
 */
export async function runCli(argv: readonly string[], io: RunIo): Promise<number> {
  const args = parseRunArgs(argv);
  if (args.kind === "help") {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.kind === "error") {
    io.stderr.write(`error: ${args.message}\n\nRun with --help for the options.\n`);
    return 2;
  }
  let runIo = io;
  if (args.options.follow && io.signal === undefined) {
    // Ctrl-C (or a TERM) ends a --follow run with its summary.
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    process.once("SIGTERM", () => stop.abort());
    runIo = { ...io, signal: stop.signal };
  }
  try {
    const report = await runLocal(args.options, runIo);
    io.stdout.write(`\n${formatSummary(report)}\n`);
    if (args.options.reportPath) {
      try {
        writeFileSync(args.options.reportPath, `${JSON.stringify(report, null, 2)}\n`);
      } catch (error) {
        // Checked writable at the start; something changed during the run. Say so, no stack trace.
        io.stderr.write(
          `error: cannot write --report ${args.options.reportPath}: ${(error as NodeJS.ErrnoException).code ?? error}\n`,
        );
        return 1;
      }
      io.stdout.write(`\nReport written to ${args.options.reportPath}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof SettingsError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`unexpected failure: ${(error as Error).stack ?? error}\n`);
    return 1;
  }
}
