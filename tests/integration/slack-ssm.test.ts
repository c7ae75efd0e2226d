/**
 * Slack on AWS: the webhook URL comes from an SSM SecureString (moto_server), read once per cold
 * start, and the processor's sink posts Block Kit to it while SNS keeps deciding delivery.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SLACK_PLACEHOLDER, SlackUrlFromSsm, SnsWithSlack } from "../../functions/aws/slack.js";
import { createParameterReader } from "../../functions/aws/ssm-parameter.js";
import { createLogger } from "../../functions/lambda/log.js";
import { MemorySink } from "../../shared/sinks/sink.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";
import { notification } from "../unit/functions/fixtures.js";

const run = toolGate("moto_server", motoAvailable());

describe.skipIf(!run)("Slack webhook URL from SSM", () => {
  let moto: Moto;
  let server: Server;
  let url = "";
  const bodies: string[] = [];

  beforeAll(async () => {
    useTestCredentials();
    moto = await startMoto();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(Buffer.concat(chunks).toString("utf8"));
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T/B/secret`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await moto?.stop();
  });

  it("reads the SecureString once and posts every notification to Slack beside SNS", async () => {
    const ssm = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint });
    const read = createParameterReader({ region: MOTO_REGION, endpoint: moto.endpoint });
    await ssm.send(new PutParameterCommand({ Name: "/obs/slack", Type: "SecureString", Value: url }));
    const source = new SlackUrlFromSsm(read, "/obs/slack");
    const sns = new MemorySink();
    const logs: string[] = [];
    const sink = new SnsWithSlack(
      sns,
      source,
      createLogger({}, (l) => logs.push(l)),
    );
    expect(await sink.send(notification())).toMatchObject({ status: "ok" });
    expect(await sink.send(notification({ id: "second", status: "resolved", reason: "resolved" }))).toEqual({
      status: "ok",
    });
    expect(source.reads).toBe(1);
    expect(sns.received).toHaveLength(2);
    expect(bodies).toHaveLength(2);
    const first = JSON.parse(bodies[0] as string) as { blocks: { type: string }[] };
    expect(first.blocks[0]?.type).toBe("header");
    expect(logs.join("\n")).not.toContain(url);
  });

  it("leaves Slack off while the parameter holds Terraform's placeholder", async () => {
    const ssm = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint });
    const read = createParameterReader({ region: MOTO_REGION, endpoint: moto.endpoint });
    await ssm.send(
      new PutParameterCommand({ Name: "/obs/unset", Type: "SecureString", Value: SLACK_PLACEHOLDER }),
    );
    const before = bodies.length;
    const sink = new SnsWithSlack(
      new MemorySink(),
      new SlackUrlFromSsm(read, "/obs/unset"),
      createLogger({}, () => {}),
    );
    expect(await sink.send(notification())).toMatchObject({ status: "ok" });
    expect(bodies.length).toBe(before);
  });

  it("names a missing parameter in its error and reads it again on the next call", async () => {
    const read = createParameterReader({ region: MOTO_REGION, endpoint: moto.endpoint });
    const source = new SlackUrlFromSsm(read, "/obs/not-yet");
    await expect(source.url()).rejects.toThrow(
      /GetParameter \/obs\/not-yet failed: HTTP 400 .*ParameterNotFound/,
    );
    const ssm = new SSMClient({ region: MOTO_REGION, endpoint: moto.endpoint });
    await ssm.send(new PutParameterCommand({ Name: "/obs/not-yet", Type: "SecureString", Value: url }));
    expect(await source.url()).toBe(url);
    expect(source.reads).toBe(2);
  });
});
