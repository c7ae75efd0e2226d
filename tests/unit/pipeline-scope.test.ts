import { describe, expect, it } from "vitest";
import type { DetectorFinding } from "../../shared/alerts/types.js";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { type Detector, type DetectorScope, NO_FINDINGS } from "../../shared/detectors/detector.js";
import { createRuleDetectors } from "../../shared/detectors/index.js";
import { EVENT_TYPES, type EventType, type LogEvent } from "../../shared/log/schema.js";
import { Pipeline } from "../../shared/pipeline.js";

const T0 = Date.UTC(2026, 2, 14, 5);

function event(extra: Partial<LogEvent>, timeMs = T0): LogEvent {
  return {
    timestamp: new Date(timeMs).toISOString(),
    timeMs,
    service: "shop",
    level: "INFO",
    event_type: "request",
    message: "GET /",
    metrics: { cpu_pct: 10, memory_pct: 10, latency_ms: 5 },
    status_code: 200,
    source_ip: "203.0.113.9",
    user: null,
    request_id: null,
    ...extra,
  };
}

/** Records which events it was shown, under the given scope and event types. */
function recorder(
  name: string,
  scope?: DetectorScope,
  eventTypes?: readonly EventType[],
): Detector & { seen: string[] } {
  const seen: string[] = [];
  return {
    name,
    ...(scope === undefined ? {} : { scope }),
    ...(eventTypes === undefined ? {} : { eventTypes }),
    seen,
    observe(e: LogEvent): readonly DetectorFinding[] {
      seen.push(e.message);
      return NO_FINDINGS;
    },
    advance: () => NO_FINDINGS,
    idle: () => true,
    snapshot: () => null,
    restore: () => {},
  };
}

describe("detector scopes", () => {
  it("the pipeline shows a scoped detector only the events of its scope, the others every event", () => {
    const all = recorder("all");
    const sshd = recorder("sshd", "sshd");
    const http = recorder("http", "http");
    const pipeline = new Pipeline({ config: DEFAULT_CONFIG, detectors: [sshd, all, http] });
    pipeline.ingestEvent(event({ message: "native" }));
    pipeline.ingestEvent(event({ message: "sshd", origin: "sshd", event_type: "auth_failure" }, T0 + 1));
    const details = { method: "GET", path: "/x", vhost: null, user_agent: null, bytes: null };
    pipeline.ingestEvent(event({ message: "nginx", origin: "nginx", http: details }, T0 + 2));
    expect(all.seen).toEqual(["native", "sshd", "nginx"]);
    expect(sshd.seen).toEqual(["sshd"]);
    expect(http.seen).toEqual(["nginx"]);
  });

  it("the built-in scoped detectors ignore every event outside their scope", () => {
    // The pipeline's skipping is only sound while this holds: shown everything, they find nothing
    // and keep no state for events outside their scope.
    const scoped = createRuleDetectors(DEFAULT_CONFIG).filter((d) => d.scope !== undefined);
    expect(scoped.map((d) => `${d.name}:${d.scope}`).sort()).toEqual(["http_probing:http", "sshd_jail:sshd"]);
    for (const detector of scoped) {
      const before = JSON.stringify(detector.snapshot());
      for (let i = 0; i < 50; i++) {
        const outOfScope =
          detector.scope === "sshd"
            ? event({ event_type: "auth_failure", status_code: 401, origin: "json" }, T0 + i)
            : event({ status_code: 404, message: `GET /probe${i} 404` }, T0 + i);
        expect(detector.observe(outOfScope)).toEqual([]);
      }
      expect(JSON.stringify(detector.snapshot())).toBe(before);
    }
  });

  it("the pipeline shows a detector only the event types it names, within its scope", () => {
    const auth = recorder("auth", undefined, ["auth_failure"]);
    const sshdAuth = recorder("sshd-auth", "sshd", ["auth_failure"]);
    const pipeline = new Pipeline({ config: DEFAULT_CONFIG, detectors: [auth, sshdAuth] });
    pipeline.ingestEvent(event({ message: "request" }));
    pipeline.ingestEvent(event({ message: "failure", event_type: "auth_failure" }, T0 + 1));
    pipeline.ingestEvent(
      event({ message: "sshd failure", origin: "sshd", event_type: "auth_failure" }, T0 + 2),
    );
    pipeline.ingestEvent(
      event({ message: "sshd success", origin: "sshd", event_type: "auth_success" }, T0 + 3),
    );
    expect(auth.seen).toEqual(["failure", "sshd failure"]);
    expect(sshdAuth.seen).toEqual(["sshd failure"]);
  });

  it("the built-in detectors ignore every event of a type they do not name", () => {
    // The pipeline's skipping is only sound while this holds: shown such an event, a detector
    // finds nothing and keeps no state for it.
    const typed = createRuleDetectors(DEFAULT_CONFIG).filter((d) => d.eventTypes !== undefined);
    expect(typed.map((d) => d.name).sort()).toEqual([
      "brute_force",
      "high_error_rate",
      "request_flood",
      "sshd_jail",
    ]);
    for (const detector of typed) {
      const before = JSON.stringify(detector.snapshot());
      const others = EVENT_TYPES.filter((type) => !detector.eventTypes?.includes(type));
      for (let i = 0; i < 50; i++) {
        const type = others[i % others.length] ?? "deploy";
        const origin = detector.scope === "sshd" ? { origin: "sshd" } : {};
        const failing = event({ ...origin, event_type: type, status_code: 503, user: "root" }, T0 + i);
        expect(detector.observe(failing)).toEqual([]);
      }
      expect(JSON.stringify(detector.snapshot())).toBe(before);
    }
  });
});

describe("idle detectors' ticks", () => {
  /** Logs what it is shown and when it is advanced; idle until told otherwise. */
  function ticker(name: string, eventTypes?: readonly EventType[]) {
    const log: string[] = [];
    const detector: Detector & { log: string[]; busy: boolean } = {
      name,
      ...(eventTypes === undefined ? {} : { eventTypes }),
      log,
      busy: false,
      observe(e: LogEvent) {
        log.push(`observe ${(e.timeMs - T0) / 1000}`);
        return NO_FINDINGS;
      },
      advance(nowMs: number) {
        log.push(`advance ${(nowMs - T0) / 1000}`);
        return NO_FINDINGS;
      },
      idle: () => !detector.busy,
      snapshot: () => null,
      restore: () => {},
    };
    return detector;
  }

  it("an idle detector is advanced once, to the last tick it was spared, before its next event or snapshot", () => {
    const auth = ticker("auth", ["auth_failure"]);
    const busy = ticker("busy");
    busy.busy = true;
    const pipeline = new Pipeline({ config: DEFAULT_CONFIG, detectors: [auth, busy] });
    for (let s = 0; s <= 4; s++) pipeline.ingestEvent(event({}, T0 + s * 1000));
    pipeline.ingestEvent(event({ event_type: "auth_failure" }, T0 + 4500));
    pipeline.ingestEvent(event({}, T0 + 6000));
    pipeline.snapshot();
    // Spared ticks 1 to 4, then 6 (owed at the snapshot); the tick after an event is not spared,
    // as a detector that had an event is not asked whether it is idle.
    expect(auth.log).toEqual(["advance 4", "observe 4.5", "advance 5", "advance 6"]);
    // A busy detector is advanced at every tick, as before.
    expect(busy.log.filter((entry) => entry.startsWith("advance"))).toEqual([
      "advance 1",
      "advance 2",
      "advance 3",
      "advance 4",
      "advance 5",
      "advance 6",
    ]);
  });
});
