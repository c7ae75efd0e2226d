import { writeFileSync } from "node:fs";
import { parseRunArgs, USAGE } from "./args.js";
import { formatSummary } from "./report.js";
import { type RunIo, runLocal, UsageError } from "./runner.js";

/**
 * `npm run local`: parse flags, run, print the summary, write the report. Returns the exit code: 2 on
 * a user error (bad flag, configuration or input file), 1 on an unexpected failure. Kept apart from
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
  try {
    const report = await runLocal(args.options, io);
    io.stdout.write(`\n${formatSummary(report)}\n`);
    if (args.options.reportPath) {
      writeFileSync(args.options.reportPath, `${JSON.stringify(report, null, 2)}\n`);
      io.stdout.write(`\nReport written to ${args.options.reportPath}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`unexpected failure: ${(error as Error).stack ?? error}\n`);
    return 1;
  }
}
