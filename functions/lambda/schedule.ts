/**
 * The schedule's invocation (EventBridge, every minute; infra/schedule.tf) arrives with EventBridge's
 * default payload, a "Scheduled Event" from aws.events. Neither a log delivery nor an SNS delivery
 * has that shape, so a tick cannot be mistaken for data.
 */
export function isScheduledTick(event: unknown): boolean {
  if (typeof event !== "object" || event === null) return false;
  const record = event as Record<string, unknown>;
  return record.source === "aws.events" && record["detail-type"] === "Scheduled Event";
}
