/**
 * The AWS adapters against moto_server over HTTP with the real SDK: CloudWatch Logs shipping,
 * SNS publishing (received through an SQS subscription), the outbox spooled in DynamoDB, and the
 * fault paths (a closed port, a throttling proxy). The state store's own contract is in
 * state-store.contract.test.ts.
 */
import { createServer, type Server } from "node:http";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeAwsLogsEvent } from "../../functions/aws/awslogs.js";
import { SNS_ATTEMPTS } from "../../functions/aws/client.js";
import { createLogsClient, LogShipper } from "../../functions/aws/cloudwatch-logs.js";
import { parseDeadLetter, SqsDeadLetterQueue } from "../../functions/aws/dead-letter.js";
import { createSnsClient, parseAlertMessage, SnsSink } from "../../functions/aws/sns.js";
import { DynamoStateStore, stateTableDefinition } from "../../functions/aws/state.js";
import { generateWindow } from "../../functions/generator/generator.js";
import { createLogger } from "../../functions/lambda/log.js";
import { Processor } from "../../functions/processor/processor.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import {
  freePort,
  MOTO_REGION,
  type Moto,
  motoAvailable,
  SqsTestClient,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";
import { notification } from "../unit/functions/fixtures.js";

const run = toolGate("moto_server", motoAvailable());
const HOUR = Date.UTC(2026, 0, 5, 10, 0, 0);
/** Without the ML detector: smaller state, faster saves, where the test is about delivery. */
const RULES_ONLY = {
  ...DEFAULT_CONFIG,
  detectors: { ...DEFAULT_CONFIG.detectors, ml: { ...DEFAULT_CONFIG.detectors.ml, enabled: false } },
};

describe.skipIf(!run)("AWS adapters against moto_server", () => {
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

  it("ships more than one call's worth of events, creating the stream, and reads them back in order", async () => {
    const client = createLogsClient(settings());
    const shipper = new LogShipper({
      client,
      logGroupName: "/test/logs",
      logStreamName: "gen-1",
      createGroup: true,
    });
    const now = Date.now() - 120_000;
    const events = Array.from({ length: 12_345 }, (_, i) => ({ timestamp: now + i, message: `line ${i}` }));
    const result = await shipper.ship(events.slice().reverse());
    expect(result).toMatchObject({ sent: 12_345, calls: 2 });

    const read: string[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await new CloudWatchLogsClient(settings()).send(
        new GetLogEventsCommand({
          logGroupName: "/test/logs",
          logStreamName: "gen-1",
          startFromHead: true,
          nextToken: token,
        }),
      );
      for (const e of page.events ?? []) read.push(e.message ?? "");
      if (!page.nextForwardToken || page.nextForwardToken === token || (page.events ?? []).length === 0)
        break;
      token = page.nextForwardToken;
    }
    expect(read).toHaveLength(12_345);
    expect(read[0]).toBe("line 0");
    expect(read.at(-1)).toBe("line 12344");
  });

  it("publishes an alert that an SQS subscriber receives with its attributes and the JSON body", async () => {
    const sns = new SNSClient(settings());
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "alerts" }));
    const sqs = new SqsTestClient(moto.endpoint);
    const queue = await sqs.createQueue("alerts-q");
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queue.arn }));

    const sink = new SnsSink({
      client: new SNSClient({ ...settings(), maxAttempts: 1 }),
      topicArn: TopicArn ?? "",
    });
    expect(await sink.send(notification())).toMatchObject({ status: "ok" });
    const [message] = await sqs.drain(queue.url);
    const envelope = JSON.parse(message?.Body ?? "{}") as {
      Subject: string;
      Message: string;
      MessageAttributes: Record<string, { Type: string; Value: string }>;
    };
    expect(envelope.Subject.length).toBeLessThanOrEqual(100);
    expect(envelope.MessageAttributes.severity).toEqual({ Type: "String", Value: "critical" });
    expect(envelope.MessageAttributes.alert_type?.Value).toBe("brute_force_ip");
    expect(envelope.MessageAttributes.fingerprint?.Value).toBe("fp-brute-1");
    expect(parseAlertMessage(envelope.Message)?.notification.id).toBe(notification().id);
  });

  it("reports an unreachable SNS endpoint as retryable after the client's bounded attempts", async () => {
    const closed = await freePort();
    const sink = new SnsSink({
      client: createSnsClient({ region: MOTO_REGION, endpoint: `http://127.0.0.1:${closed}` }),
      topicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
    });
    const result = await sink.send(notification());
    expect(result.status).toBe("retryable");
    expect(result.attempts).toBe(SNS_ATTEMPTS);
  });

  it("retries through a throttling proxy and succeeds once it lets requests through", async () => {
    const sns = new SNSClient(settings());
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "alerts" }));
    const proxy = await throttlingProxy(moto.port, 2);
    try {
      const sink = new SnsSink({
        client: createSnsClient({ region: MOTO_REGION, endpoint: proxy.endpoint }),
        topicArn: TopicArn ?? "",
      });
      expect(await sink.send(notification())).toMatchObject({ status: "ok" });
      expect(proxy.refused()).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it("spools alerts in DynamoDB while SNS is unreachable; a cold-started processor publishes them", async () => {
    const dynamo = new DynamoDBClient(settings());
    await dynamo.send(new CreateTableCommand(stateTableDefinition("state")));
    const store = () => new DynamoStateStore({ client: dynamo, tableName: "state" });
    const sns = new SNSClient(settings());
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "alerts" }));
    const sqs = new SqsTestClient(moto.endpoint);
    const queue = await sqs.createQueue("alerts-q");
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queue.arn }));
    const traffic = generateWindow({
      seed: 2,
      startMs: HOUR,
      endMs: HOUR + 240_000,
      minIntervalS: 0.05,
      maxIntervalS: 0.2,
    });
    const delivery = encodeAwsLogsEvent({
      owner: "1",
      logGroup: "g",
      logStream: "s",
      subscriptionFilters: [],
      messageType: "DATA_MESSAGE",
      logEvents: traffic.map((e, i) => ({
        id: String(i),
        timestamp: e.timestamp ?? 0,
        message: e.message ?? "",
      })),
    });
    const logLines: string[] = [];
    const processor = (sinkEndpoint: string) =>
      new Processor({
        config: DEFAULT_CONFIG,
        store: store(),
        sink: new SnsSink({
          client: new SNSClient({ region: MOTO_REGION, endpoint: sinkEndpoint, maxAttempts: 1 }),
          topicArn: TopicArn ?? "",
        }),
        logger: createLogger({}, (l) => logLines.push(l)),
        writeMetrics: () => {},
      });

    const down = await processor(`http://127.0.0.1:${await freePort()}`).handle(delivery);
    expect(down.notifications).toBeGreaterThan(0);
    expect(down.spooled).toBe(down.notifications);
    expect(await sqs.drain(queue.url)).toHaveLength(0);
    // Publishing stops at the first outage-like failure: one attempt, one log line with the alert.
    const failures = logLines.filter((l) => l.includes("kept in the outbox"));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toContain('"notification":{');
    expect(down.publishStopped).toBe("outage");

    const empty = encodeAwsLogsEvent({
      owner: "1",
      logGroup: "g",
      logStream: "s",
      subscriptionFilters: [],
      messageType: "DATA_MESSAGE",
      logEvents: [],
    });
    const up = await processor(moto.endpoint).handle(empty);
    expect(up.spooled).toBe(0);
    expect(up.published).toBe(down.notifications);
    expect(await sqs.drain(queue.url)).toHaveLength(down.notifications);
  });

  it("sends the oldest to the dead-letter queue in full when the outbox is full; SNS gets the rest once", async () => {
    const dynamo = new DynamoDBClient(settings());
    await dynamo.send(new CreateTableCommand(stateTableDefinition("state")));
    const sns = new SNSClient(settings());
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "alerts" }));
    const sqs = new SqsTestClient(moto.endpoint);
    const alerts = await sqs.createQueue("alerts-q");
    const dlq = await sqs.createQueue("async-dlq");
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: alerts.arn }));
    const traffic = generateWindow({
      seed: 4,
      startMs: HOUR,
      endMs: HOUR + 900_000,
      minIntervalS: 0.05,
      maxIntervalS: 0.3,
    });
    const minute = (m: number) =>
      encodeAwsLogsEvent({
        owner: "1",
        logGroup: "g",
        logStream: "s",
        subscriptionFilters: [],
        messageType: "DATA_MESSAGE",
        logEvents: traffic
          .filter(
            (e) => (e.timestamp ?? 0) >= HOUR + m * 60_000 && (e.timestamp ?? 0) < HOUR + (m + 1) * 60_000,
          )
          .map((e, i) => ({ id: `${m}-${i}`, timestamp: e.timestamp ?? 0, message: e.message ?? "" })),
      });
    const logger = createLogger({}, () => {});
    const processor = (snsEndpoint: string) =>
      new Processor({
        config: RULES_ONLY,
        store: new DynamoStateStore({ client: dynamo, tableName: "state" }),
        sink: new SnsSink({
          client: new SNSClient({ region: MOTO_REGION, endpoint: snsEndpoint, maxAttempts: 1 }),
          topicArn: TopicArn ?? "",
        }),
        deadLetters: new SqsDeadLetterQueue({
          client: new SQSClient({ ...settings(), maxAttempts: 1 }),
          queueUrl: dlq.url,
          logger,
        }),
        maxOutbox: 3,
        logger,
        writeMetrics: () => {},
        now: () => HOUR + 960_000,
      });
    const down = processor(`http://127.0.0.1:${await freePort()}`);
    let decided = 0;
    let deadLettered = 0;
    for (let m = 0; m < 15; m++) {
      const outcome = await down.handle(minute(m));
      decided += outcome.notifications;
      deadLettered += outcome.deadLettered;
      expect(outcome.spooled).toBeLessThanOrEqual(3);
    }
    expect(decided).toBeGreaterThan(3);
    const letters = (await sqs.drain(dlq.url)).map((m) => parseDeadLetter(m.Body));
    expect(letters).toHaveLength(deadLettered);
    expect(letters.length).toBe(decided - 3);
    for (const letter of letters) {
      expect(letter?.reason).toBe("outbox_full");
      expect(letter?.notification.alerts.length).toBeGreaterThan(0);
      expect(letter?.notification.alerts[0]?.annotations.summary).toBeTruthy();
    }

    const up = await processor(moto.endpoint).handle(minute(15));
    expect(up.spooled).toBe(0);
    const published = (await sqs.drain(alerts.url)).map(
      (m) => parseAlertMessage((JSON.parse(m.Body) as { Message: string }).Message)?.notification,
    );
    const dead = letters.map((l) => l?.notification);
    const ids = [...published, ...dead].map((n) => n?.id);
    // Every notification went exactly one way, and the dead letters are the oldest.
    expect(new Set(ids).size).toBe(ids.length);
    expect(Math.max(...dead.map((n) => n?.atMs ?? 0))).toBeLessThanOrEqual(
      Math.min(...published.map((n) => n?.atMs ?? 0)),
    );
    expect(published.length + dead.length).toBe(decided + up.notifications);
  });
});

/** An HTTP proxy in front of moto that answers the first `failures` requests with SNS throttling. */
async function throttlingProxy(targetPort: number, failures: number) {
  let refused = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      if (refused < failures) {
        refused++;
        res.writeHead(400, { "content-type": "text/xml" });
        res.end(
          "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>",
        );
        return;
      }
      const upstream = await fetch(`http://127.0.0.1:${targetPort}${req.url}`, {
        method: req.method,
        headers: Object.fromEntries(
          Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "content-length"),
        ) as Record<string, string>,
        body: Buffer.concat(chunks),
      });
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/xml" });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    refused: () => refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
