/**
 * Time on AWS, against moto_server with the real SDK: the processor (state in DynamoDB, a cold start
 * for every invocation) publishes to SNS (read through SQS), the remediator acts on what SQS got,
 * and the one-minute schedule's tick is the only thing that moves time once the logs stop.
 */
import { CreateTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import type { SNSEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SnsSink } from "../../functions/aws/sns.js";
import { DynamoStateStore, stateTableDefinition } from "../../functions/aws/state.js";
import { createLogger } from "../../functions/lambda/log.js";
import { Processor } from "../../functions/processor/processor.js";
import { Remediator } from "../../functions/remediation/remediator.js";
import type { Notification } from "../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { SimulatedExecutor } from "../../shared/remediation/simulated-executor.js";
import { delivery, tick } from "../helpers/lambda-events.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  SqsTestClient,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";
import { logLine, SPARSE_T0, sparseSequence } from "../helpers/sparse-logs.js";

const run = toolGate("moto_server", motoAvailable());
const TABLE = "state";

describe.skipIf(!run)("time on AWS against moto_server: ticks and no further logs", () => {
  let moto: Moto;
  const settings = () => ({ region: MOTO_REGION, endpoint: moto.endpoint });

  beforeAll(async () => {
    useTestCredentials();
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
  });

  /** Topic, inbox queue and state table; invocations are cold starts on the shared DynamoDB state. */
  async function deployment() {
    const sns = new SNSClient(settings());
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "alerts" }));
    const sqs = new SqsTestClient(moto.endpoint);
    const queue = await sqs.createQueue("inbox");
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queue.arn }));
    const dynamo = new DynamoDBClient(settings());
    await dynamo.send(new CreateTableCommand(stateTableDefinition(TABLE)));
    const store = () => new DynamoStateStore({ client: dynamo, tableName: TABLE });
    const clock = { wallMs: 0 };
    const executed: string[] = [];
    const processor = () =>
      new Processor({
        config: DEFAULT_CONFIG,
        store: store(),
        sink: new SnsSink({
          client: new SNSClient({ ...settings(), maxAttempts: 1 }),
          topicArn: TopicArn ?? "",
        }),
        logger: createLogger({}, () => {}),
        writeMetrics: () => {},
        now: () => clock.wallMs,
      });
    const remediator = () =>
      new Remediator({
        config: DEFAULT_CONFIG.remediation,
        store: store(),
        executor: new SimulatedExecutor({ log: (line) => executed.push(line) }),
        logger: createLogger({}, () => {}),
        writeMetrics: () => {},
        now: () => clock.wallMs,
        allowedLatenessMs: DEFAULT_CONFIG.time.allowed_lateness_s * 1000,
      });
    const received: Notification[] = [];
    /** What SQS holds now, handed to a cold remediation Lambda as SNS deliveries. */
    const deliverToRemediation = async () => {
      for (const message of await sqs.drain(queue.url)) {
        const envelope = JSON.parse(message.Body) as { Message: string; MessageId: string };
        received.push(JSON.parse(envelope.Message).notification as Notification);
        await remediator().handle(snsEvent(envelope.Message, envelope.MessageId));
      }
    };
    const audit = async () => {
      const items = await dynamo.send(new ScanCommand({ TableName: TABLE }));
      return (items.Items ?? [])
        .filter((i) => i.pk?.S?.startsWith("audit#"))
        .map((i) => JSON.parse(i.record?.S ?? "{}") as { stage: string; data: Record<string, unknown> });
    };
    return { clock, processor, remediator, received, executed, deliverToRemediation, audit };
  }

  it("the sparse brute force notifies once, remediates once and resolves, driven by ticks", async () => {
    const aws = await deployment();
    const lines = sparseSequence().slice(0, 10);
    aws.clock.wallMs = SPARSE_T0 + 30_000;
    await aws
      .processor()
      .handle(
        delivery(lines.map((message) => ({ timestamp: Date.parse(JSON.parse(message).timestamp), message }))),
      );
    // No further logs: only the schedule, every minute, for ten minutes.
    for (let m = 1; m <= 10; m++) {
      aws.clock.wallMs = SPARSE_T0 + 30_000 + m * 60_000;
      await aws.processor().handle(tick(aws.clock.wallMs));
      await aws.deliverToRemediation();
      await aws.remediator().handle(tick(aws.clock.wallMs));
    }
    expect(aws.received.map((n) => `${n.reason}:${n.status}`)).toEqual(["new:firing", "resolved:resolved"]);
    expect(aws.received[0]?.alerts[0]).toMatchObject({ type: "brute_force_ip", entity: "203.0.113.7" });
    expect(aws.executed).toHaveLength(1);
    const audit = await aws.audit();
    expect(audit.filter((r) => r.stage === "action")).toHaveLength(1);
    // The outcome check ran on a tick, with no notification to carry it.
    expect(audit.filter((r) => r.stage === "outcome").map((r) => r.data.status)).toEqual(["effective"]);
  });

  it("an hour with no logs: ticks alone resolve the firing alerts with no_data and notify the resolve", async () => {
    const aws = await deployment();
    const start = Date.UTC(2026, 0, 5, 10, 0, 0);
    const cpuLine = (ms: number) =>
      logLine(ms, {
        service: "api",
        level: "INFO",
        event_type: "metric",
        message: "host metrics",
        metrics: { cpu_pct: 97, memory_pct: 40, latency_ms: 0 },
        source_ip: null,
        user: null,
      });
    // Three minutes of a pegged CPU, one delivery a minute, then silence.
    for (let m = 0; m < 3; m++) {
      const lines = Array.from({ length: 60 }, (_, s) => start + m * 60_000 + s * 1000).map((ms) => ({
        timestamp: ms,
        message: cpuLine(ms),
      }));
      aws.clock.wallMs = start + (m + 1) * 60_000 + 5_000;
      await aws.processor().handle(delivery(lines));
    }
    await aws.deliverToRemediation();
    expect(aws.received.map((n) => `${n.reason}:${n.status}`)).toEqual(["new:firing"]);

    for (let m = 4; m <= 63; m++) {
      aws.clock.wallMs = start + m * 60_000 + 5_000;
      await aws.processor().handle(tick(aws.clock.wallMs));
    }
    await aws.deliverToRemediation();
    expect(aws.received.map((n) => `${n.reason}:${n.status}`)).toEqual(["new:firing", "resolved:resolved"]);
    const resolved = aws.received[1]?.alerts[0];
    expect(resolved).toMatchObject({ type: "high_cpu", service: "api", status: "resolved" });
    expect(resolved?.annotations.details.reason).toBe("no_data");
  });
});

function snsEvent(message: string, messageId: string): SNSEvent {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: "arn:aws:sns:us-east-1:123456789012:alerts:remediation",
        Sns: {
          Type: "Notification",
          MessageId: messageId,
          TopicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
          Subject: "alert",
          Message: message,
          Timestamp: new Date().toISOString(),
          SignatureVersion: "1",
          Signature: "",
          SigningCertUrl: "",
          UnsubscribeUrl: "",
          MessageAttributes: {},
        },
      },
    ],
  };
}
