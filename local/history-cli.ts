import { historyMain } from "./history/history-command.js";

/** `npm run history`: see `npm run history -- --help`. */
historyMain(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
);
