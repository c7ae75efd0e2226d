import type { ScheduledEvent } from "aws-lambda";
import { encodeAwsLogsEvent } from "../../functions/aws/awslogs.js";

/** Lambda events for the time tests: a subscription delivery and the schedule's tick. */

export function delivery(lines: { timestamp: number; message: string }[], logStream = "host-1") {
  return encodeAwsLogsEvent({
    owner: "123456789012",
    logGroup: "/cloud-observability/services",
    logStream,
    subscriptionFilters: ["all"],
    messageType: "DATA_MESSAGE",
    logEvents: lines.map((l, i) => ({ id: String(i), timestamp: l.timestamp, message: l.message })),
  });
}

/** What EventBridge sends on the one-minute schedule (the default payload). */
export function tick(wallMs: number): ScheduledEvent {
  return {
    version: "0",
    id: `tick-${wallMs}`,
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time: new Date(wallMs).toISOString(),
    region: "us-east-1",
    resources: ["arn:aws:events:us-east-1:123456789012:rule/cloud-observability-tick"],
    detail: {},
  };
}
