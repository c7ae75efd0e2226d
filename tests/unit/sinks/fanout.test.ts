import { describe, expect, it } from "vitest";
import { fanOut } from "../../../shared/sinks/fanout.js";
import { MemorySink, type Sink, type SinkResult } from "../../../shared/sinks/sink.js";
import { notification } from "./fixtures.js";

const sinkOf = (name: string, send: Sink["send"]): Sink => ({ name, send });
const never = () => new Promise<SinkResult>(() => {});

describe("fanOut", () => {
  it.each<[string, Sink, SinkResult]>([
    [
      "throws synchronously",
      sinkOf("sync-thrower", () => {
        throw new Error("boom");
      }),
      { status: "error", error: "sink threw: boom" },
    ],
    [
      "rejects",
      sinkOf("rejecter", () => Promise.reject(new Error("nope"))),
      { status: "error", error: "sink threw: nope" },
    ],
    [
      "rejects with a non-Error",
      sinkOf("odd", () => Promise.reject("plain string")),
      { status: "error", error: "sink threw: plain string" },
    ],
    [
      "resolves to garbage",
      sinkOf("garbage", () => Promise.resolve(42 as unknown as SinkResult)),
      { status: "error", error: "sink returned an invalid result" },
    ],
    [
      "hangs past the timeout",
      sinkOf("slow", never),
      { status: "retryable", error: "timed out after 30 ms" },
    ],
    [
      "reports retryable itself",
      sinkOf("flaky", async () => ({ status: "retryable", error: "429" })),
      { status: "retryable", error: "429" },
    ],
  ])("a sink that %s is reported and does not stop the others", async (_name, bad, expected) => {
    const before = new MemorySink();
    const after = new MemorySink();
    const n = notification();
    const reports = await fanOut([before, bad, after], n, { timeoutMs: 30 });
    expect(reports.map((r) => [r.sink, r.result])).toEqual([
      ["memory", { status: "ok" }],
      [bad.name, expected],
      ["memory", { status: "ok" }],
    ]);
    expect(before.received).toEqual([n]);
    expect(after.received).toEqual([n]);
  });

  it("measures each sink with the injected clock", async () => {
    let t = 100;
    const reports = await fanOut([new MemorySink()], notification(), {
      clock: () => {
        t += 7;
        return t;
      },
    });
    expect(reports[0]?.ms).toBe(7);
  });

  it("returns an empty list for no sinks", async () => {
    expect(await fanOut([], notification())).toEqual([]);
  });
});
