import { runCli } from "./cli-main.js";

/** Entry point of `npm run local` (started by local/launch.mjs). */

// A reader that stops early (`npm run local -- --help | head`) is not a failure of the run.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
  (code) => {
    process.exitCode = code;
  },
);
