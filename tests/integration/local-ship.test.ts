/**
 * `npm run local -- --ship-to-log-group`: the runner sends its lines to CloudWatch Logs through the
 * generator Lambda's shipper, here a real SDK talking to moto_server; and a dead endpoint only
 * costs the shipping, never the run.
 */

import { PassThrough, Readable } from "node:stream";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRunArgs, type RunOptions } from "../../local/args.js";
import { runLocal } from "../../local/runner.js";
import {
  freePort,
  MOTO_REGION,
  type Moto,
  motoAvailable,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";

const run = toolGate("moto_server", motoAvailable());

function options(argv: string[]): RunOptions {
  const parsed = parseRunArgs(argv);
  if (parsed.kind !== "run") throw new Error(`bad test arguments: ${JSON.stringify(parsed)}`);
  return parsed.options;
}

function quietIo(env: NodeJS.ProcessEnv) {
  const stderr = new PassThrough();
  const warnings: string[] = [];
  stderr.on("data", (chunk: Buffer) => warnings.push(chunk.toString()));
  return { io: { stdout: new PassThrough(), stderr, stdin: Readable.from([]), env }, warnings };
}

// CloudWatch refuses events older than 14 days, so the simulated run starts an hour ago.
const START = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
const RUN_ARGS = ["--duration", "0.05", "--speed", "6000", "--seed", "3", "--start", START, "--quiet"];

describe.skipIf(!run)("local runner shipping to a CloudWatch Logs group (moto_server)", () => {
  let moto: Moto;
  beforeAll(async () => {
    // The SDK's credential chain reads the process environment, as it does for `npm run local`.
    useTestCredentials();
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it("ships every processed line to the group, creating group and stream", async () => {
    const { io } = quietIo(moto.env);
    const report = await runLocal(
      options([...RUN_ARGS, "--ship-to-log-group", "/cloud-observability/local", "--log-stream", "run-1"]),
      io,
    );
    expect(report.events).toBeGreaterThan(1000);
    expect(report.shipping).toMatchObject({ sent: report.events, refused: 0, failed: 0, first_error: null });

    const client = new CloudWatchLogsClient({
      region: MOTO_REGION,
      endpoint: moto.endpoint,
      // The account of this file on the shared server (see tests/helpers/moto.ts).
      credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID ?? "test", secretAccessKey: "test" },
    });
    const messages: string[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await client.send(
        new GetLogEventsCommand({
          logGroupName: "/cloud-observability/local",
          logStreamName: "run-1",
          startFromHead: true,
          nextToken: token,
        }),
      );
      for (const event of page.events ?? []) messages.push(event.message ?? "");
      if (!page.nextForwardToken || page.nextForwardToken === token || (page.events ?? []).length === 0)
        break;
      token = page.nextForwardToken;
    }
    expect(messages).toHaveLength(report.events);
    const first = JSON.parse(messages[0] ?? "{}") as { service?: string; timestamp?: string };
    expect(typeof first.service).toBe("string");
    expect(Date.parse(first.timestamp ?? "")).toBeGreaterThanOrEqual(Date.parse(START));
  });

  it("keeps running and reports the failure when the endpoint is unreachable", async () => {
    const closedPort = await freePort();
    const { io, warnings } = quietIo({ ...moto.env, AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}` });
    const report = await runLocal(
      options([...RUN_ARGS, "--ship-to-log-group", "/cloud-observability/local"]),
      io,
    );
    expect(report.events).toBeGreaterThan(1000);
    expect(report.shipping?.sent).toBe(0);
    expect(report.shipping?.failed).toBe(report.events);
    expect(report.shipping?.first_error).toBeTruthy();
    expect(warnings.join("")).toMatch(/shipping to log group \/cloud-observability\/local failed/);
  });

  it("refuses to start without a region, naming the variable", async () => {
    const { io } = quietIo({});
    await expect(
      runLocal(options([...RUN_ARGS, "--ship-to-log-group", "/cloud-observability/local"]), io),
    ).rejects.toThrow(/--ship-to-log-group: environment variable AWS_REGION is required/);
  });
});
