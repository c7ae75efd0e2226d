import { writeFileSync } from "node:fs";
import { parseRunArgs, USAGE } from "./args.js";
import { InputSettingsError } from "./ingest-input.js";
import { formatSummary } from "./report.js";
import { runLocal, UsageError } from "./runner.js";

/** `npm run local`: parse flags, run, print the summary, write the report. Exit 2 on user error. */
async function main(argv: readonly string[]): Promise<number> {
  const args = parseRunArgs(argv);
  if (args.kind === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.kind === "error") {
    process.stderr.write(`error: ${args.message}\n\nRun with --help for the options.\n`);
    return 2;
  }
  // Ctrl-C ends a --follow run with its summary; a second one stops at once.
  const stop = new AbortController();
  if (args.options.follow) process.once("SIGINT", () => stop.abort());
  if (args.options.follow) process.once("SIGTERM", () => stop.abort());
  try {
    const report = await runLocal(args.options, {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      signal: stop.signal,
    });
    process.stdout.write(`\n${formatSummary(report)}\n`);
    if (args.options.reportPath) {
      writeFileSync(args.options.reportPath, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`\nReport written to ${args.options.reportPath}\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof InputSettingsError) {
      process.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`unexpected failure: ${(error as Error).stack ?? error}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
