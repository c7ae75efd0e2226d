// The bundle's entry point (dist/generator/index.js). As a Lambda the handler is "index.handler";
// on the EC2 host `RUN_MODE=daemon node index.js` runs the long-running generator instead.
import { startDaemonFromEnv } from "./daemon.js";

export { handler } from "./handler.js";

if (process.env.RUN_MODE === "daemon") {
  startDaemonFromEnv(process.env).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
