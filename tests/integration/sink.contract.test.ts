import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAlertMessage, SnsSink } from "../../functions/aws/sns.js";
import { nodeWebhookTransport } from "../../local/sinks/configured.js";
import { ConsoleSink } from "../../local/sinks/console.js";
import { JsonlFileSink } from "../../local/sinks/jsonl-file.js";
import type { Notification } from "../../shared/alerts/types.js";
import { MemorySink, type Sink } from "../../shared/sinks/sink.js";
import { WebhookSink } from "../../shared/sinks/webhook.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  SqsTestClient,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";
import { notification, startServer, type TestServer } from "../unit/sinks/fixtures.js";

/** A sink with a way to read back what it delivered. */
interface SinkUnderTest {
  sink: Sink;
  delivered(): Promise<string[]>;
}

/**
 * Every sink, each with a way to read back what it delivered, runs the same suite (one contract,
 * every implementation). The SNS sink publishes to moto_server; an SQS queue subscribed to the topic
 * shows what a subscriber receives.
 */

const withMoto = toolGate("moto_server", motoAvailable());

let dir = "";
let server: TestServer;
let fileCounter = 0;
let moto: Moto | undefined;
let sns: { client: SNSClient; topicArn: string; sqs: SqsTestClient; queueUrl: string } | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sinks-contract-"));
  server = await startServer();
  if (withMoto) {
    useTestCredentials();
    moto = await startMoto();
    const client = new SNSClient({ region: MOTO_REGION, endpoint: moto.endpoint, maxAttempts: 1 });
    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: "alerts" }));
    const sqs = new SqsTestClient(moto.endpoint);
    const queue = await sqs.createQueue("alerts-subscriber");
    await client.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queue.arn }));
    sns = { client, topicArn: TopicArn ?? "", sqs, queueUrl: queue.url };
  }
});
afterAll(async () => {
  await server.close();
  await moto?.stop();
  await rm(dir, { recursive: true, force: true });
});

const factories: [string, () => Promise<SinkUnderTest>][] = [
  [
    "memory",
    async () => {
      const sink = new MemorySink();
      return { sink, delivered: async () => sink.received.map((n) => n.id) };
    },
  ],
  [
    "console",
    async () => {
      const stream = new PassThrough();
      let text = "";
      stream.on("data", (c: Buffer) => {
        text += c.toString("utf8");
      });
      const sink = new ConsoleSink(stream);
      return { sink, delivered: async () => [...text.matchAll(/\| id (\S+)/g)].map((m) => m[1] ?? "") };
    },
  ],
  [
    "jsonl-file",
    async () => {
      const path = join(dir, `alerts-${++fileCounter}.jsonl`);
      const sink = new JsonlFileSink(path);
      return {
        sink,
        delivered: async () =>
          (await readFile(path, "utf8"))
            .trim()
            .split("\n")
            .map((line) => (JSON.parse(line) as Notification).id),
      };
    },
  ],
  [
    "webhook",
    async () => {
      server.requests.length = 0;
      server.respondWith = 200;
      const sink = new WebhookSink(server.url, {
        transport: nodeWebhookTransport,
        timeoutMs: 2000,
      });
      return {
        sink,
        delivered: async () => server.requests.map((r) => (JSON.parse(r.body) as { id: string }).id),
      };
    },
  ],
];
if (withMoto) {
  factories.push([
    "sns (moto_server)",
    async () => {
      if (sns === undefined) throw new Error("moto_server is not running");
      const { client, topicArn, sqs, queueUrl } = sns;
      await sqs.drain(queueUrl);
      return {
        sink: new SnsSink({ client, topicArn }),
        delivered: async () =>
          (await sqs.drain(queueUrl)).map((message) => {
            const envelope = JSON.parse(message.Body) as { Message: string };
            return parseAlertMessage(envelope.Message)?.notification.id ?? "not an alert message";
          }),
      };
    },
  ]);
}

describe.each(factories)("sink contract: %s", (_name, make) => {
  it("has a non-empty name", async () => {
    expect((await make()).sink.name).toMatch(/\S/);
  });

  it("delivers each notification once, in order, and reports ok", async () => {
    const { sink, delivered } = await make();
    const first = notification();
    const second = notification({ id: "auth-service/auth@2", reason: "repeat" });
    expect(await sink.send(first)).toMatchObject({ status: "ok" });
    expect(await sink.send(second)).toMatchObject({ status: "ok" });
    expect(await delivered()).toEqual([first.id, "auth-service/auth@2"]);
  });

  it("accepts a resolved notification with no samples", async () => {
    const { sink } = await make();
    const base = notification();
    const alert = base.alerts[0];
    if (!alert) throw new Error("fixture needs an alert");
    const resolved = notification({
      status: "resolved",
      reason: "resolved",
      alerts: [
        {
          ...alert,
          status: "resolved",
          endsAtMs: base.atMs,
          annotations: { ...alert.annotations, samples: [] },
        },
      ],
    });
    expect(await sink.send(resolved)).toMatchObject({ status: "ok" });
  });
});
