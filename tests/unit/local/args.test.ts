import { describe, expect, it } from "vitest";
import { parseRunArgs } from "../../../local/args.js";

describe("parseRunArgs", () => {
  it("gives the documented defaults with no flags", () => {
    const result = parseRunArgs([]);
    expect(result).toMatchObject({
      kind: "run",
      options: {
        durationS: 15,
        speed: 1,
        minIntervalS: 0.05,
        maxIntervalS: 0.2,
        seed: 1,
        input: null,
        quiet: false,
      },
    });
  });

  it("reads every flag", () => {
    const result = parseRunArgs([
      "--duration=10",
      "--speed",
      "600",
      "--seed",
      "42",
      "--min-interval",
      "0",
      "--max-interval",
      "1.5",
      "--input",
      "-",
      "--report",
      "r.json",
      "--start",
      "2026-01-01T00:00:00Z",
      "--dry-run",
      "--quiet",
    ]);
    expect(result).toMatchObject({
      kind: "run",
      options: {
        durationS: 10,
        speed: 600,
        seed: 42,
        minIntervalS: 0,
        maxIntervalS: 1.5,
        input: "-",
        reportPath: "r.json",
        startMs: Date.parse("2026-01-01T00:00:00Z"),
        dryRun: true,
        quiet: true,
      },
    });
    expect(parseRunArgs(["--speed", "max"])).toMatchObject({ kind: "run", options: { speed: "max" } });
  });

  it.each([
    [["--duration", "abc"], /--duration must be a positive number, got "abc"/],
    [["--duration", "0"], /--duration must be a positive number/],
    [["--speed=-3"], /--speed must be a positive number.*"max"/],
    [["--seed", "1.5"], /--seed must be a whole number/],
    [
      ["--min-interval", "2", "--max-interval", "1"],
      /--min-interval \(2\) must not exceed --max-interval \(1\)/,
    ],
    [["--start", "yesterday"], /--start must be an ISO 8601 time/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["stray"], /Unexpected argument 'stray'/],
    [["--log-stream", "s1"], /--log-stream needs --ship-to-log-group/],
    [["--ship-to-log-group", "a:b"], /--ship-to-log-group must be 1 to 512 characters without ':'/],
  ])("refuses %j with a clear message", (argv, message) => {
    const result = parseRunArgs(argv);
    expect(result.kind).toBe("error");
    if (result.kind === "error") expect(result.message).toMatch(message);
  });

  it("takes a log group to ship to, with a default stream", () => {
    expect(parseRunArgs(["--ship-to-log-group", "/app/logs"])).toMatchObject({
      kind: "run",
      options: { shipLogGroup: "/app/logs", shipLogStream: "local-runner" },
    });
    expect(parseRunArgs([])).toMatchObject({ kind: "run", options: { shipLogGroup: null } });
  });

  it("recognises --help and -h", () => {
    expect(parseRunArgs(["--help"]).kind).toBe("help");
    expect(parseRunArgs(["-h"]).kind).toBe("help");
  });

  it("reads the dashboard flags: off by default, 127.0.0.1:8787 when on", () => {
    expect(parseRunArgs([])).toMatchObject({ kind: "run", options: { dashboard: null } });
    expect(parseRunArgs(["--dashboard"])).toMatchObject({
      kind: "run",
      options: { dashboard: { host: "127.0.0.1", port: 8787 } },
    });
    expect(parseRunArgs(["--dashboard", "--port", "0", "--host", "0.0.0.0"])).toMatchObject({
      kind: "run",
      options: { dashboard: { host: "0.0.0.0", port: 0 } },
    });
  });

  it("refuses a bad dashboard port or host, and --port without --dashboard", () => {
    for (const argv of [
      ["--dashboard", "--port", "70000"],
      ["--dashboard", "--port", "8.5"],
      ["--dashboard", "--port", ""],
      ["--dashboard", "--host", "a b"],
      ["--port", "8080"],
    ]) {
      expect(parseRunArgs(argv), argv.join(" ")).toMatchObject({ kind: "error" });
    }
  });
});
