import type { SNSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { MemoryStateStore } from "../../../functions/aws/state.js";
import { createLogger } from "../../../functions/lambda/log.js";
import { Remediator } from "../../../functions/remediation/remediator.js";
import type { Notification } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import type { ExecutionResult, Executor, RemediationAction } from "../../../shared/remediation/types.js";
import { tick } from "../../helpers/lambda-events.js";
import { alert, kitJson, notification } from "./fixtures.js";

const WALL = () => Date.UTC(2026, 0, 5, 12, 0, 0);

class CountingExecutor implements Executor {
  readonly name = "counting";
  readonly executed: RemediationAction[] = [];
  async execute(action: RemediationAction): Promise<ExecutionResult> {
    this.executed.push(action);
    return { status: "ok", detail: `did ${action.type}` };
  }
}

function snsEvent(...notifications: Notification[]): SNSEvent {
  return {
    Records: notifications.map((n, i) => ({
      EventSource: "aws:sns",
      EventVersion: "1.0",
      EventSubscriptionArn: "arn:aws:sns:us-east-1:123456789012:alerts:sub",
      Sns: {
        Type: "Notification",
        MessageId: `m-${i}`,
        TopicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
        Subject: "alert",
        Message: JSON.stringify({ kind: "cloud-observability.notification", version: 1, notification: n }),
        Timestamp: new Date(n.atMs).toISOString(),
        SignatureVersion: "1",
        Signature: "",
        SigningCertUrl: "",
        UnsubscribeUrl: "",
        MessageAttributes: {},
      },
    })),
  };
}

function makeRemediator(store: MemoryStateStore, executor: Executor, lines: string[] = []) {
  return new Remediator({
    config: DEFAULT_CONFIG.remediation,
    store,
    executor,
    logger: createLogger({}, (line) => lines.push(line), WALL),
    writeMetrics: () => {},
    now: WALL,
  });
}

describe("Remediator", () => {
  it("acts once on an alert, writes the audit record, and treats a redelivery as a duplicate", async () => {
    const store = new MemoryStateStore();
    const executor = new CountingExecutor();
    const remediator = makeRemediator(store, executor);
    const first = await remediator.handle(snsEvent(notification()));
    expect(first.acted).toBe(1);
    expect(executor.executed.map((a) => [a.type, a.target])).toEqual([["block_ip", "203.0.113.7"]]);
    expect(first.audit.map((r) => r.stage)).toEqual(["action"]);
    expect([...store.records.values()]).toHaveLength(1);

    const again = await remediator.handle(snsEvent(notification()));
    expect(again.acted).toBe(0);
    expect(executor.executed).toHaveLength(1);
    expect(again.audit.map((r) => [r.stage, r.data.reason])).toEqual([["skip", "duplicate"]]);
  });

  it("acts once even when the redelivery reaches a cold instance", async () => {
    const store = new MemoryStateStore();
    const executor = new CountingExecutor();
    await makeRemediator(store, executor).handle(snsEvent(notification()));
    const cold = await makeRemediator(store, executor).handle(snsEvent(notification()));
    expect(executor.executed).toHaveLength(1);
    expect(cold.duplicates + cold.skipped).toBe(1);
  });

  it("acts once when the same alert arrives twice in one batch", async () => {
    const executor = new CountingExecutor();
    const summary = await makeRemediator(new MemoryStateStore(), executor).handle(
      snsEvent(notification(), notification()),
    );
    expect(executor.executed).toHaveLength(1);
    expect(summary.acted).toBe(1);
  });

  it("checks the outcome later: a resolved alert makes the earlier action effective", async () => {
    const executor = new CountingExecutor();
    const remediator = makeRemediator(new MemoryStateStore(), executor);
    const firing = notification();
    await remediator.handle(snsEvent(firing));
    const resolvedAt = firing.atMs + (DEFAULT_CONFIG.remediation.verify_after_s + 10) * 1000;
    const resolved = notification({
      id: "resolved-1",
      reason: "resolved",
      status: "resolved",
      atMs: resolvedAt,
      alerts: [alert({ status: "resolved", endsAtMs: resolvedAt - 5000 })],
    });
    const summary = await remediator.handle(snsEvent(resolved));
    expect(summary.audit.filter((r) => r.stage === "outcome").map((r) => r.data.status)).toEqual([
      "effective",
    ]);
  });

  it("runs a due outcome check on the schedule's tick, with no notification to carry it", async () => {
    const executor = new CountingExecutor();
    const clock = { wallMs: 0 };
    const store = new MemoryStateStore();
    const remediator = () =>
      new Remediator({
        config: DEFAULT_CONFIG.remediation,
        store,
        executor,
        logger: createLogger({}, () => {}, WALL),
        writeMetrics: () => {},
        now: () => clock.wallMs,
        allowedLatenessMs: 60_000,
      });
    const firing = notification();
    clock.wallMs = firing.atMs + 5_000;
    await remediator().handle(snsEvent(firing));
    const resolvedAt = firing.atMs + 60_000;
    await remediator().handle(
      snsEvent(
        notification({
          id: "resolved-1",
          reason: "resolved",
          status: "resolved",
          atMs: resolvedAt,
          alerts: [alert({ status: "resolved", endsAtMs: resolvedAt - 5000 })],
        }),
      ),
    );
    const dueAt = firing.atMs + DEFAULT_CONFIG.remediation.verify_after_s * 1000;
    clock.wallMs = dueAt + 59_000; // wall minus the lateness is still before the check is due
    expect((await remediator().handle(tick(clock.wallMs))).outcomes).toBe(0);
    clock.wallMs = dueAt + 60_000;
    const due = await remediator().handle(tick(clock.wallMs));
    expect(due.audit.map((r) => [r.stage, r.data.status])).toEqual([["outcome", "effective"]]);
    expect((await remediator().handle(tick(clock.wallMs + 60_000))).outcomes).toBe(0);
  });

  it("ignores messages that are not alert notifications, counting them (the real SNS payloads)", async () => {
    const lines: string[] = [];
    const executor = new CountingExecutor();
    const remediator = makeRemediator(new MemoryStateStore(), executor, lines);
    for (const file of ["aws-lambda-go__sns-event.json", "powertools-python__snsEvent.json"]) {
      const summary = await remediator.handle(kitJson<SNSEvent>(`data/aws-events/${file}`));
      expect(summary.records).toBeGreaterThan(0);
      expect(summary.invalid).toBe(summary.records);
    }
    expect(executor.executed).toHaveLength(0);
    expect(lines.filter((l) => l.includes("not an alert notification")).length).toBeGreaterThan(0);
  });

  it("records kill-switch skips instead of acting", async () => {
    const executor = new CountingExecutor();
    const remediator = new Remediator({
      config: { ...DEFAULT_CONFIG.remediation, kill_switch: true },
      store: new MemoryStateStore(),
      executor,
      logger: createLogger({}, () => {}, WALL),
      writeMetrics: () => {},
      now: WALL,
    });
    const summary = await remediator.handle(snsEvent(notification()));
    expect(executor.executed).toHaveLength(0);
    expect(summary.audit.map((r) => r.data.reason)).toEqual(["kill_switch"]);
  });
});
