import { dashboardMain } from "./dashboard/history-command.js";

/** `npm run dashboard`: see `npm run dashboard -- --help`. Serves until interrupted. */
const { code, dashboard, store } = await dashboardMain(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
if (dashboard === null) process.exitCode = code;
else {
  // The server does not keep the process alive by itself (the runner's dashboard lives only as long
  // as its run): this timer does, until a signal stops it.
  const keepAlive = setInterval(() => {}, 3600_000);
  const stop = async () => {
    clearInterval(keepAlive);
    await dashboard.close();
    await store?.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
