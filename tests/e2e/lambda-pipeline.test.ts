/**
 * The serverless path end to end, every hop over HTTP against moto_server with the real SDK:
 * generator handler -> PutLogEvents -> read back -> subscription event (base64 of gzip, as AWS
 * builds it) -> processor handler -> SNS -> SQS (attributes and body checked) -> remediation handler
 * (audit in DynamoDB; a redelivery acts once). With STATE_TABLE_NAME set, a cold-started processor
 * continues the same windows: it publishes exactly what one warm instance would have.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  GetLogEventsCommand,
  type OutputLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import type { CloudWatchLogsEvent, ScheduledEvent, SNSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { encodeAwsLogsEvent } from "../../functions/aws/awslogs.js";
import { MemoryStateStore, stateTableDefinition } from "../../functions/aws/state.js";
import { createLogger } from "../../functions/lambda/log.js";
import { Processor } from "../../functions/processor/processor.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { MemorySink } from "../../shared/sinks/sink.js";
import { type Moto, motoAvailable, SqsTestClient, startMoto, toolGate } from "../helpers/moto.js";

const run = toolGate("moto_server", motoAvailable());

type Handlers = {
  generator: typeof import("../../functions/generator/handler.js");
  processor: typeof import("../../functions/processor/handler.js");
  remediation: typeof import("../../functions/remediation/handler.js");
};

/** A fresh copy of the handler modules: what a Lambda cold start gets (no warm state, new clients). */
async function coldStart(): Promise<Handlers> {
  vi.resetModules();
  return {
    generator: await import("../../functions/generator/handler.js"),
    processor: await import("../../functions/processor/handler.js"),
    remediation: await import("../../functions/remediation/handler.js"),
  };
}

interface SqsEnvelope {
  MessageId: string;
  TopicArn: string;
  Subject: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  UnsubscribeURL: string;
  MessageAttributes: Record<string, { Type: string; Value: string }>;
}

/** The SNS envelope as SQS gets it, re-shaped as Lambda's Records[].Sns (note the Url/URL spelling). */
function asSnsEvent(envelope: SqsEnvelope): SNSEvent {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: `${envelope.TopicArn}:remediation`,
        Sns: {
          Type: "Notification",
          MessageId: envelope.MessageId,
          TopicArn: envelope.TopicArn,
          Subject: envelope.Subject,
          Message: envelope.Message,
          Timestamp: envelope.Timestamp,
          SignatureVersion: envelope.SignatureVersion,
          Signature: envelope.Signature,
          SigningCertUrl: envelope.SigningCertURL,
          UnsubscribeUrl: envelope.UnsubscribeURL,
          MessageAttributes: Object.fromEntries(
            Object.entries(envelope.MessageAttributes).map(([k, v]) => [k, { Type: v.Type, Value: v.Value }]),
          ),
        },
      },
    ],
  };
}

describe.skipIf(!run)("Lambda path end to end against moto_server", () => {
  let moto: Moto;
  const stdout: string[] = [];
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto();
    // Handlers log JSON lines and EMF to stdout; keep them for assertions instead of the test output.
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    process.env = savedEnv;
    await moto?.stop();
  });

  it("generates, ships, detects, publishes, remediates once, and survives a processor cold start", async () => {
    const settings = { region: moto.env.AWS_REGION, endpoint: moto.endpoint };
    Object.assign(process.env, moto.env);
    const logs = new CloudWatchLogsClient(settings);
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/cloud-observability/services" }));
    const sns = new SNSClient(settings);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "cloud-observability-alerts" }));
    const sqs = new SqsTestClient(moto.endpoint);
    const queue = await sqs.createQueue("alerts-inbox");
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queue.arn }));
    const dynamo = new DynamoDBClient(settings);
    await dynamo.send(new CreateTableCommand(stateTableDefinition("cloud-observability-state")));
    Object.assign(process.env, {
      LOG_GROUP_NAME: "/cloud-observability/services",
      LOG_STREAM_NAME: "generator-e2e",
      ALERT_TOPIC_ARN: TopicArn,
      STATE_TABLE_NAME: "cloud-observability-state",
      // Every invocation saves its windows, so the cold start below continues them exactly (the
      // default, 60, may lose up to a minute of windows on a cold start: docs/lambda.md).
      STATE_SAVE_INTERVAL_S: "0",
      WINDOW_S: "60",
      SEED: "11",
    });

    // 1. The generator, on twelve one-minute schedule ticks within the last hour.
    let lambda = await coldStart();
    const hourStart = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000;
    const minutes = 12;
    let generated = 0;
    for (let m = 1; m <= minutes; m++) {
      const tick = { time: new Date(hourStart + m * 60_000).toISOString() } as ScheduledEvent;
      generated += (await lambda.generator.handler(tick)).generated;
    }
    expect(generated).toBeGreaterThan(3000);

    // 2. Read the stream back and wrap each minute as CloudWatch's subscription delivery.
    const read: OutputLogEvent[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await logs.send(
        new GetLogEventsCommand({
          logGroupName: "/cloud-observability/services",
          logStreamName: "generator-e2e",
          startFromHead: true,
          nextToken: token,
        }),
      );
      read.push(...(page.events ?? []));
      if ((page.events ?? []).length === 0 || page.nextForwardToken === token) break;
      token = page.nextForwardToken;
    }
    expect(read).toHaveLength(generated);
    const deliveries: CloudWatchLogsEvent[] = [];
    for (let m = 0; m < minutes; m++) {
      const from = hourStart + m * 60_000;
      const batch = read.filter((e) => (e.timestamp ?? 0) >= from && (e.timestamp ?? 0) < from + 60_000);
      deliveries.push(
        encodeAwsLogsEvent({
          owner: "123456789012",
          logGroup: "/cloud-observability/services",
          logStream: "generator-e2e",
          subscriptionFilters: ["all-services"],
          messageType: "DATA_MESSAGE",
          logEvents: batch.map((e, i) => ({
            id: `${m}-${i}`,
            timestamp: e.timestamp ?? 0,
            message: e.message ?? "",
          })),
        }),
      );
    }

    // 3. The processor: half the deliveries, then a cold start (fresh modules, state only in DynamoDB).
    const half = minutes / 2;
    for (const delivery of deliveries.slice(0, half)) await lambda.processor.handler(delivery);
    lambda = await coldStart();
    for (const delivery of deliveries.slice(half)) await lambda.processor.handler(delivery);

    // A warm single instance over the same deliveries is the reference for "continues the same windows".
    const reference = new MemorySink();
    const warm = new Processor({
      config: DEFAULT_CONFIG,
      store: new MemoryStateStore(),
      sink: reference,
      logger: createLogger({}, () => {}),
      writeMetrics: () => {},
    });
    for (const delivery of deliveries) await warm.handle(delivery);
    expect(reference.received.length).toBeGreaterThan(0);

    // 4. What the SQS subscriber received: every notification, once, with attributes and body.
    const envelopes = (await sqs.drain(queue.url)).map((m) => JSON.parse(m.Body) as SqsEnvelope);
    const received = envelopes.map((e) => JSON.parse(e.Message).notification.id as string);
    expect(received.sort()).toEqual(reference.received.map((n) => n.id).sort());
    for (const envelope of envelopes) {
      const body = JSON.parse(envelope.Message);
      expect(envelope.Subject.length).toBeLessThanOrEqual(100);
      expect(envelope.MessageAttributes.severity?.Value).toBe(body.notification.severity);
      expect(envelope.MessageAttributes.service).toBeDefined();
      expect(envelope.MessageAttributes.alert_type).toBeDefined();
      expect(envelope.MessageAttributes.fingerprint).toBeDefined();
    }

    // 5. Remediation: a firing alert with a policy acts once, however often SNS delivers it.
    const actionable = envelopes.find((e) => {
      const n = JSON.parse(e.Message).notification;
      return (
        n.status === "firing" &&
        n.alerts.some((a: { type: string }) => a.type in DEFAULT_CONFIG.remediation.actions)
      );
    });
    expect(actionable).toBeDefined();
    const delivery = asSnsEvent(actionable as SqsEnvelope);
    const first = await lambda.remediation.handler(delivery);
    expect(first.acted).toBeGreaterThan(0);
    const again = await lambda.remediation.handler(delivery);
    expect(again.acted).toBe(0);
    lambda = await coldStart();
    const afterColdStart = await lambda.remediation.handler(delivery);
    expect(afterColdStart.acted).toBe(0);

    const items = await dynamo.send(new ScanCommand({ TableName: "cloud-observability-state" }));
    const audit = (items.Items ?? []).filter((i) => i.pk?.S?.startsWith("audit#"));
    const actions = audit.map((i) => JSON.parse(i.record?.S ?? "{}")).filter((r) => r.stage === "action");
    expect(actions).toHaveLength(first.acted);

    // Structured logs and EMF metrics went to stdout.
    const lines = stdout
      .join("")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const emf = lines.filter((l) => "_aws" in l);
    expect(emf.some((l) => l.Function === "processor" && (l.events as number) > 0)).toBe(true);
    expect(emf.some((l) => l.Function === "remediation" && (l.actions as number) > 0)).toBe(true);
    expect(emf.some((l) => l.Function === "generator")).toBe(true);
  });

  it("fails fast with a clear message when ALERT_TOPIC_ARN is missing", async () => {
    const lambda = await coldStart();
    const saved = process.env.ALERT_TOPIC_ARN;
    delete process.env.ALERT_TOPIC_ARN;
    try {
      await expect(lambda.processor.handler({ awslogs: { data: "" } })).rejects.toThrow(
        "environment variable ALERT_TOPIC_ARN is required (the SNS topic alerts are published to) but is not set",
      );
    } finally {
      process.env.ALERT_TOPIC_ARN = saved;
    }
  });
});
