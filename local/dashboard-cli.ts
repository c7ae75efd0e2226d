import { dashboardMain } from "./dashboard/history-command.js";

/** `npm run dashboard`: see `npm run dashboard -- --help`. Serves until interrupted. */
const { code, dashboard, store } = await dashboardMain(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
if (dashboard === null) process.exitCode = code;
else {
  const stop = async () => {
    await dashboard.close();
    await store?.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
