/**
 * One processor subscribed to two log groups of users' own formats, every hop over HTTP against
 * moto_server with the real SDK: nginx access lines and sshd auth lines are put into their groups,
 * read back, wrapped as CloudWatch's subscription deliveries and handed to the processor handler,
 * whose config `sources` say how each group is read. What SNS delivers (to an SQS subscriber):
 * one probing alert naming the prober and one sshd-jail ban naming the attacker.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  GetLogEventsCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import type { CloudWatchLogsEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { encodeAwsLogsEvent } from "../../functions/aws/awslogs.js";
import type { ProcessorOutcome } from "../../functions/processor/processor.js";
import { type Moto, motoAvailable, SqsTestClient, startMoto, toolGate } from "../helpers/moto.js";

const run = toolGate("moto_server", motoAvailable());
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");

function httpDate(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function syslogDate(ms: number): string {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

describe.skipIf(!run)("processor reading an nginx and an sshd log group (moto_server)", () => {
  let moto: Moto;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto();
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    process.env = savedEnv;
    await moto?.stop();
  });

  it("reads each group in its own format and alerts on the prober and the brute-forcer", async () => {
    const settings = { region: moto.env.AWS_REGION, endpoint: moto.endpoint };
    Object.assign(process.env, moto.env);
    const logs = new CloudWatchLogsClient(settings);
    const sns = new SNSClient(settings);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: "alerts" }));
    const sqs = new SqsTestClient(moto.endpoint);
    const queue = await sqs.createQueue("alerts-inbox");
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queue.arn }));

    const start = Math.floor(Date.now() / 1000) * 1000 - 30 * 60_000;
    const groups: Record<string, { timestamp: number; message: string }[]> = {
      "/web/nginx/access": [],
      "/hosts/auth": [],
    };
    for (let s = 0; s < 120; s++) {
      const at = start + s * 1000;
      groups["/web/nginx/access"]?.push({
        timestamp: at,
        message: `198.51.100.${s % 30} - - [${httpDate(at)}] "GET /products/${s % 7} HTTP/1.1" ${s % 50 === 0 ? 404 : 200} 512 "-" "Mozilla/5.0"`,
      });
      if (s === 40) {
        for (let i = 0; i < 15; i++) {
          groups["/web/nginx/access"]?.push({
            timestamp: at,
            message: `203.0.113.66 - - [${httpDate(at)}] "GET /admin/backup-${i}.sql HTTP/1.1" 404 153 "-" "zgrab/0.x"`,
          });
        }
      }
      if (s % 10 === 5) {
        // Six failures a minute apart from one host, plus a normal login now and then.
        groups["/hosts/auth"]?.push({
          timestamp: at,
          message: `${syslogDate(at)} bastion sshd[${2000 + s}]: Failed password for invalid user admin from 192.0.2.99 port ${50000 + s} ssh2`,
        });
      }
      if (s % 30 === 7) {
        groups["/hosts/auth"]?.push({
          timestamp: at,
          message: `${syslogDate(at)} bastion sshd[${3000 + s}]: Accepted publickey for ops from 198.51.100.2 port ${50000 + s} ssh2: ED25519 SHA256:k`,
        });
      }
    }
    for (const [group, events] of Object.entries(groups)) {
      await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
      await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: "host-1" }));
      await logs.send(
        new PutLogEventsCommand({ logGroupName: group, logStreamName: "host-1", logEvents: events }),
      );
    }

    Object.assign(process.env, {
      ALERT_TOPIC_ARN: TopicArn,
      PIPELINE_CONFIG: JSON.stringify({
        alerting: { group_wait_s: 0 },
        sources: [
          { log_group: "/web/nginx/*", format: "nginx", service: "shop" },
          { log_group: "/hosts/auth", format: "sshd", service: "bastion-ssh" },
        ],
      }),
    });
    delete process.env.STATE_TABLE_NAME;

    // Read both groups back and deliver them as the subscriptions would: a batch per 30 s per group,
    // the two groups' batches of the same 30 s arriving together.
    const timed: { from: number; delivery: CloudWatchLogsEvent }[] = [];
    for (const group of Object.keys(groups)) {
      const page = await logs.send(
        new GetLogEventsCommand({ logGroupName: group, logStreamName: "host-1", startFromHead: true }),
      );
      const read = page.events ?? [];
      expect(read.length).toBe(groups[group]?.length);
      for (let from = start; from < start + 120_000; from += 30_000) {
        const batch = read.filter((e) => (e.timestamp ?? 0) >= from && (e.timestamp ?? 0) < from + 30_000);
        timed.push({
          from,
          delivery: encodeAwsLogsEvent({
            owner: "123456789012",
            logGroup: group,
            logStream: "host-1",
            subscriptionFilters: ["cloud-observability-processor"],
            messageType: "DATA_MESSAGE",
            logEvents: batch.map((e, i) => ({
              id: `${from}-${i}`,
              timestamp: e.timestamp ?? 0,
              message: e.message ?? "",
            })),
          }),
        });
      }
    }
    const deliveries = timed.sort((a, b) => a.from - b.from).map((t) => t.delivery);
    vi.resetModules();
    const { handler } = await import("../../functions/processor/handler.js");
    let accepted = 0;
    for (const delivery of deliveries) {
      const outcome = (await handler(delivery)) as ProcessorOutcome;
      expect(outcome.rejected).toEqual({});
      accepted += outcome.accepted;
    }
    expect(accepted).toBe(120 + 15 + 12 + 4);

    const envelopes = (await sqs.drain(queue.url)).map((m) => JSON.parse(JSON.parse(m.Body).Message));
    const firing = envelopes
      .flatMap((body) => body.notification.alerts)
      .filter((a: { status: string }) => a.status === "firing")
      .map((a: { type: string; service: string; entity: string }) => `${a.type} ${a.service} ${a.entity}`);
    expect(new Set(firing)).toEqual(
      new Set(["http_probing shop 203.0.113.66", "brute_force_ip bastion-ssh 192.0.2.99"]),
    );
  }, 60_000);
});
