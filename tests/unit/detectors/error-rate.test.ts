import { describe, expect, it } from "vitest";
import type { ErrorRateConfig } from "../../../shared/config/types.js";
import { NO_FINDINGS } from "../../../shared/detectors/detector.js";
import { classifyTraffic, ErrorRateDetector } from "../../../shared/detectors/error-rate.js";
import type { EventType, LogEvent } from "../../../shared/log/schema.js";
import { at, brief, makeEvent, run, type Step } from "./events.js";

const CONFIG: ErrorRateConfig = {
  window_s: 60,
  threshold_ratio: 0.2,
  recovery_ratio: 0.08,
  min_requests: 30,
  severity: "critical",
  max_services: 1000,
};

/**
 * Two requests a second over [fromS, toS); `failing(s, i)` says whether the i-th request of second s
 * fails (status 503).
 */
function traffic(
  fromS: number,
  toS: number,
  failing: (s: number, i: number) => boolean,
  service = "checkout",
) {
  const out: LogEvent[] = [];
  for (let s = fromS; s < toS; s++) {
    for (let i = 0; i < 2; i++) {
      const failed = failing(s, i);
      out.push(
        makeEvent({
          t: s + i / 2,
          service,
          level: failed ? "ERROR" : "INFO",
          message: failed ? "POST /pay 503" : "GET /cart 200",
          status_code: failed ? 503 : 200,
        }),
      );
    }
  }
  return out;
}

const healthy = () => false;

describe("high error rate", () => {
  it("fires when the ratio over the window reaches the threshold", () => {
    // 60 s healthy (120 requests), then every request fails: 24 errors of 120 reach 20% at 71.5 s.
    const found = run(
      new ErrorRateDetector(CONFIG),
      traffic(0, 120, (s) => s >= 60),
    );
    expect(brief(found)).toEqual(["firing high_error_rate checkout @71.5"]);
    const [finding] = found;
    expect(finding).toMatchObject({
      entity: "",
      severity: "critical",
      threshold: 0.2,
      unit: "ratio",
      windowMs: 60_000,
      sinceMs: at(71.5),
    });
    expect(finding?.observed).toBeCloseTo(24 / 120, 10);
    expect(finding?.details).toMatchObject({ errors: 24, requests: 120, window_s: 60, min_requests: 30 });
    expect(finding?.samples.every((s) => s.status_code === 503)).toBe(true);
    expect(finding?.summary).toBe("20.0% of requests failing on checkout (24/120 in 60s), threshold 20%");
  });

  it.each([
    ["14 requests, all failing", 7, true, []],
    ["30 requests, all failing", 15, true, ["firing high_error_rate checkout @14.5"]],
    ["30 requests, none failing", 15, false, []],
  ])("gives no verdict below min_requests: %s", (_label, seconds, failing, expected) => {
    const found = run(
      new ErrorRateDetector(CONFIG),
      traffic(0, seconds, () => failing),
    );
    expect(brief(found)).toEqual(expected);
  });

  it("holds firing between recovery and threshold, then resolves below recovery", () => {
    const steps = traffic(0, 400, (s, i) => {
      if (s < 60) return false;
      if (s < 120) return i === 0; // 50%
      if (s < 240) return i === 0 && s % 4 === 0; // 12.5%: between 8% and 20%
      return false;
    });
    const found = run(new ErrorRateDetector(CONFIG), steps);
    expect(found.map((f) => f.status)).toEqual(["firing", "resolved"]);
    const resolved = found[1];
    // The 12.5% phase ends at 240 s; the ratio sinks under 8% as its errors leave the window.
    expect(resolved?.atMs).toBeGreaterThan(at(240));
    expect(resolved?.atMs).toBeLessThan(at(300));
    expect(resolved?.observed).toBeLessThan(0.08);
    expect(resolved?.threshold).toBe(0.08);
    expect(resolved?.details.reason).toBe("recovered");
    // Half the requests failed at the peak; the newest bucket may hold one request of its two.
    expect(resolved?.details.peak_ratio).toBeCloseTo(0.5, 1);
    expect(resolved?.sinceMs).toBe(found[0]?.sinceMs);
  });

  it("slides the window: errors older than window_s stop counting", () => {
    const detector = new ErrorRateDetector(CONFIG);
    // 20 errors early, then clean traffic: never 20% of a full window with the min reached.
    const steps = [...traffic(0, 10, (_s, i) => i === 0), ...traffic(70, 130, healthy)];
    expect(run(detector, steps)).toEqual([]);
    const state = detector.snapshot() as { services: { window: { totalA: number; totalB: number } }[] };
    expect(state.services[0]?.window).toMatchObject({ totalA: 0, totalB: 120 });
  });

  it("resolves through advance when traffic stops, once the window holds no errors", () => {
    const detector = new ErrorRateDetector(CONFIG);
    run(
      detector,
      traffic(0, 40, () => true),
    );
    // The last requests are at 39.5 s: nothing changes until the service has been silent for 5 minutes.
    expect(detector.advance(at(120))).toBe(NO_FINDINGS);
    const resolved = detector.advance(at(340));
    expect(brief(resolved)).toEqual(["resolved high_error_rate checkout @340"]);
    expect(resolved[0]?.details.reason).toBe("no_data");
  });

  it("keeps services apart", () => {
    const steps = [...traffic(0, 60, () => true, "search"), ...traffic(0, 60, healthy, "checkout")].sort(
      (a, b) => a.timeMs - b.timeMs,
    );
    const found = run(new ErrorRateDetector(CONFIG), steps);
    expect(found.map((f) => f.service)).toEqual(["search"]);
  });

  it.each<[string, EventType, number | null, "error" | "ok" | null]>([
    ["a 200 request", "request", 200, "ok"],
    ["a 404 request (client error, not ours)", "request", 404, "ok"],
    ["a 503 request", "request", 503, "error"],
    ["an error event without status", "error", null, "error"],
    ["a failed login (401)", "auth_failure", 401, "ok"],
    ["a health check returning 503", "health_check", 503, null],
    ["a metric event", "metric", null, null],
    ["a deploy", "deploy", null, null],
  ])("classifies %s", (_label, eventType, status, expected) => {
    expect(classifyTraffic(makeEvent({ event_type: eventType, status_code: status }))).toBe(expected);
  });

  it("returns the shared empty result for events it does not count", () => {
    const detector = new ErrorRateDetector(CONFIG);
    const steps: Step[] = [makeEvent({ event_type: "metric", status_code: null })];
    expect(detector.observe(steps[0] as LogEvent)).toBe(NO_FINDINGS);
    expect(detector.observe(makeEvent({ t: 1 }))).toBe(NO_FINDINGS);
  });

  it("evicts services without traffic for the stale period", () => {
    const detector = new ErrorRateDetector(CONFIG);
    run(detector, [makeEvent({ t: 0, service: "a" }), makeEvent({ t: 100, service: "b" })]);
    detector.advance(at(350));
    const state = detector.snapshot() as { services: { service: string }[] };
    expect(state.services.map((s) => s.service)).toEqual(["b"]);
  });
});
