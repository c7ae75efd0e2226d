import { silenceMain } from "./history/silence-command.js";

/** `npm run silence`: see `npm run silence -- --help`. */
silenceMain(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
);
