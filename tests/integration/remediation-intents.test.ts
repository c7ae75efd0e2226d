/**
 * Remediation's intent, action, result against moto_server's DynamoDB (docs/lambda.md,
 * "Remediation"): an invocation killed between recording the intent and acting is run exactly once
 * by the next tick after its lease; losing the state write race after acting keeps the audit record
 * and the ban record. The "kill" is real I/O: a loopback proxy in front of DynamoDB never answers
 * the action's claim write, so the invocation stops there and never resumes.
 */
import { CreateTableCommand, DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { SNSEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoStateStore, stateTableDefinition } from "../../functions/aws/state.js";
import { createLogger } from "../../functions/lambda/log.js";
import { type Intent, Remediator } from "../../functions/remediation/remediator.js";
import type { Notification } from "../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { incidentId } from "../../shared/remediation/audit.js";
import { RemediationEngine } from "../../shared/remediation/engine.js";
import type { ExecutionResult, Executor, RemediationAction } from "../../shared/remediation/types.js";
import { startFaultProxy } from "../helpers/fault-proxy.js";
import { tick } from "../helpers/lambda-events.js";
import {
  MOTO_REGION,
  type Moto,
  motoAvailable,
  startMoto,
  toolGate,
  useTestCredentials,
} from "../helpers/moto.js";
import { alert, notification } from "../unit/functions/fixtures.js";

const run = toolGate("moto_server", motoAvailable());
const ALERT_AT = Date.UTC(2026, 0, 5, 10, 0, 10);

/** Counts what it is asked to do; `during` runs inside the action (to stage a race). */
class RecordingExecutor implements Executor {
  readonly name = "recording";
  readonly executed: RemediationAction[] = [];
  during: (() => Promise<void>) | null = null;
  async execute(action: RemediationAction): Promise<ExecutionResult> {
    this.executed.push(action);
    const during = this.during;
    this.during = null;
    if (during !== null) await during();
    return { status: "ok", detail: `did ${action.type} ${action.target}` };
  }
}

function snsEvent(n: Notification): SNSEvent {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: "arn:aws:sns:us-east-1:123456789012:alerts:sub",
        Sns: {
          Type: "Notification",
          MessageId: `m-${n.id}`,
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
      },
    ],
  };
}

interface StoredRemediation {
  engine: unknown;
  intents?: Record<string, Intent>;
}

describe.skipIf(!run)("remediation intents against moto_server", () => {
  let moto: Moto;
  let table = 0;
  let tableName = "";
  const settings = () => ({ region: MOTO_REGION, endpoint: moto.endpoint });

  beforeAll(async () => {
    useTestCredentials();
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });
  beforeEach(async () => {
    tableName = `state-${++table}`;
    await new DynamoDBClient(settings()).send(new CreateTableCommand(stateTableDefinition(tableName)));
  });

  const store = (endpoint = moto.endpoint) =>
    new DynamoStateStore({
      client: new DynamoDBClient({ region: MOTO_REGION, endpoint, maxAttempts: 1 }),
      tableName,
    });

  function remediator(executor: Executor, wall: () => number, endpoint = moto.endpoint) {
    return new Remediator({
      config: DEFAULT_CONFIG.remediation,
      store: store(endpoint),
      executor,
      logger: createLogger({}, () => {}),
      writeMetrics: () => {},
      now: wall,
    });
  }

  async function stored(): Promise<StoredRemediation | null> {
    return (await store().load<StoredRemediation>("remediation"))?.value ?? null;
  }

  async function auditStages(incident: string): Promise<string[]> {
    const response = await new DynamoDBClient(settings()).send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": { S: `audit#${incident}` } },
      }),
    );
    return (response.Items ?? []).map(
      (item) => (JSON.parse(item.record?.S ?? "{}") as { stage: string }).stage,
    );
  }

  function bans(state: StoredRemediation | null, atMs: number): string[] {
    const engine = new RemediationEngine(DEFAULT_CONFIG.remediation);
    engine.restore(state?.engine);
    return engine.activeBans(atMs).map((b) => b.target);
  }

  it("killed between intent and action: the next tick after its lease acts exactly once", async () => {
    const executor = new RecordingExecutor();
    let wall = ALERT_AT + 2_000;
    const proxy = await startFaultProxy(moto.port, "pass");
    // The action's claim write never gets an answer: the invocation is stuck right after its intent.
    proxy.decide = (body) => (body.includes("claim#action#") ? "hang" : null);
    const killed = remediator(executor, () => wall, proxy.endpoint)
      .handle(snsEvent(notification()), { getRemainingTimeInMillis: () => 30_000 })
      .catch((error: unknown) => error);
    for (let i = 0; i < 200 && proxy.counts.hang === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(proxy.counts.hang).toBe(1);
    const intents = Object.values((await stored())?.intents ?? {});
    expect(intents).toHaveLength(1);
    expect(executor.executed).toHaveLength(0);

    // A new instance (the old one is gone). Within the dead invocation's lease: nothing runs.
    const next = remediator(executor, () => wall);
    wall = ALERT_AT + 20_000;
    expect((await next.handle(tick(wall))).retried).toBe(0);
    expect(executor.executed).toHaveLength(0);

    // The first tick after the lease runs it, once; later ticks and a redelivery do nothing more.
    wall = ALERT_AT + 40_000;
    const retried = await next.handle(tick(wall));
    expect(retried).toMatchObject({ retried: 1, acted: 1 });
    expect(executor.executed.map((a) => a.target)).toEqual(["203.0.113.7"]);
    wall = ALERT_AT + 100_000;
    await next.handle(tick(wall));
    await remediator(executor, () => wall).handle(tick(wall));
    const again = await remediator(executor, () => wall).handle(snsEvent(notification()));
    expect(again.acted).toBe(0);
    expect(executor.executed).toHaveLength(1);

    const after = await stored();
    expect(Object.keys(after?.intents ?? {})).toHaveLength(0);
    expect(bans(after, ALERT_AT)).toEqual(["203.0.113.7"]);
    expect(await auditStages(incidentId("fp-brute-1", alert().startsAtMs))).toContain("action");

    // The stuck invocation's connection dies with its proxy: it fails without ever acting.
    await proxy.close();
    await killed;
    expect(executor.executed).toHaveLength(1);
  });

  it("a lost state race after acting keeps the action's audit and ban records", async () => {
    const wall = () => ALERT_AT + 2_000;
    const first = new RecordingExecutor();
    const second = new RecordingExecutor();
    const proxy = await startFaultProxy(moto.port, "pass");
    try {
      const a = remediator(first, wall, proxy.endpoint);
      const b = remediator(second, wall);
      const other = notification({
        id: "auth-service/brute_force_ip@other",
        alerts: [alert({ fingerprint: "fp-brute-2", entity: "198.51.100.9" })],
      });
      // After A has acted, its result write (the conditional put of the state head) is held back
      // until B has handled another alert and saved: A's write then fails its condition.
      let armed = false;
      let raced = 0;
      first.during = async () => {
        armed = true;
      };
      proxy.beforeForward = async (body) => {
        if (!armed || !body.includes('"ConditionExpression"') || !body.includes('"head"')) return;
        armed = false;
        raced++;
        expect((await b.handle(snsEvent(other))).acted).toBe(1);
      };
      const summary = await a.handle(snsEvent(notification()));
      expect(raced).toBe(1);
      expect(summary.acted).toBe(1);
      expect(first.executed).toHaveLength(1);
      expect(second.executed).toHaveLength(1);

      const state = await stored();
      expect(bans(state, ALERT_AT).sort()).toEqual(["198.51.100.9", "203.0.113.7"]);
      expect(Object.keys(state?.intents ?? {})).toHaveLength(0);
      expect(await auditStages(incidentId("fp-brute-1", alert().startsAtMs))).toContain("action");
      expect(await auditStages(incidentId("fp-brute-2", alert().startsAtMs))).toContain("action");
    } finally {
      await proxy.close();
    }
  });
});
