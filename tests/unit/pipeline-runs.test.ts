import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../shared/config/defaults.js";
import { createGenerator } from "../../shared/generator/index.js";
import { formatLogLine } from "../../shared/log/parse.js";
import { INGEST_RUN, Pipeline } from "../../shared/pipeline.js";

/** A generated stream with refused lines, a line dated far ahead and a late one mixed in. */
function streamLines(count: number): string[] {
  const generator = createGenerator({
    seed: 11,
    startMs: Date.parse("2026-03-02T00:00:00Z"),
    minIntervalS: 0.05,
    maxIntervalS: 0.4,
  });
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const event = generator.next();
    if (i % 97 === 5) lines.push("");
    if (i % 211 === 7) lines.push('{"timestamp": "2026-03-02T00:00:00Z", "service": ');
    if (i % 307 === 9) lines.push(formatLogLine({ ...event, timestamp: "2026-02-31T00:00:00.000Z" }));
    if (i === 1500) {
      lines.push(formatLogLine({ ...event, timestamp: new Date(event.timeMs + 86_400_000).toISOString() }));
      lines.push(formatLogLine({ ...event, timestamp: new Date(event.timeMs - 120_000).toISOString() }));
    }
    lines.push(formatLogLine(event));
  }
  return lines;
}

/** Everything a caller can observe of a pipeline after a stream. */
function outcome(pipeline: Pipeline) {
  return {
    findings: pipeline.takeFindings(),
    notifications: pipeline.takeNotifications(),
    stats: pipeline.stats,
    snapshot: pipeline.snapshot(),
  };
}

describe("ingestLines", () => {
  const lines = streamLines(4000);
  const lineByLine = new Pipeline({ config: DEFAULT_CONFIG });
  for (const line of lines) lineByLine.ingestLine(line);
  const expected = outcome(lineByLine);

  it("the reference stream fires alerts and refuses lines, so the comparison below means something", () => {
    expect(expected.findings.length).toBeGreaterThan(0);
    expect(expected.notifications.length).toBeGreaterThan(0);
    expect(expected.stats.rejected).toMatchObject({
      empty_line: expect.any(Number),
      malformed_json: expect.any(Number),
      bad_timestamp: expect.any(Number),
      timestamp_in_future: 1,
    });
    expect(expected.stats.late).toBeGreaterThan(0);
  });

  it.each([
    ["the whole stream in one call", [lines.length]],
    ["calls of one line, a run, a run and one, and the rest", [1, INGEST_RUN, INGEST_RUN + 1, lines.length]],
    ["calls of 100 lines", Array.from({ length: Math.ceil(lines.length / 100) }, () => 100)],
  ])("has the same findings, notifications, stats and snapshot as line by line: %s", (_label, sizes) => {
    const inRuns = new Pipeline({ config: DEFAULT_CONFIG });
    let from = 0;
    for (const size of sizes) {
      inRuns.ingestLines(lines.slice(from, from + size));
      from += size;
    }
    expect(from).toBeGreaterThanOrEqual(lines.length);
    expect(outcome(inRuns)).toEqual(expected);
  });
});
