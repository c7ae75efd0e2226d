import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleSink } from "../../../local/sinks/console.js";
import { JsonlFileSink } from "../../../local/sinks/jsonl-file.js";
import { WebhookSink } from "../../../local/sinks/webhook.js";
import type { Notification } from "../../../shared/alerts/types.js";
import { MemorySink, type Sink } from "../../../shared/sinks/sink.js";
import { notification, startServer, type TestServer } from "./fixtures.js";

/** Each sink with a way to read back what it delivered, so one suite checks them all. */
interface SinkUnderTest {
  sink: Sink;
  delivered(): Promise<string[]>;
}

let dir = "";
let server: TestServer;
let fileCounter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sinks-contract-"));
  server = await startServer();
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const factories: [string, () => SinkUnderTest][] = [
  [
    "memory",
    () => {
      const sink = new MemorySink();
      return { sink, delivered: async () => sink.received.map((n) => n.id) };
    },
  ],
  [
    "console",
    () => {
      const stream = new PassThrough();
      let text = "";
      stream.on("data", (c: Buffer) => {
        text += c.toString("utf8");
      });
      const sink = new ConsoleSink(stream);
      return { sink, delivered: async () => [...text.matchAll(/\| id (\S+)/g)].map((m) => m[1] ?? "") };
    },
  ],
  [
    "jsonl-file",
    () => {
      const path = join(dir, `alerts-${++fileCounter}.jsonl`);
      const sink = new JsonlFileSink(path);
      return {
        sink,
        delivered: async () =>
          (await readFile(path, "utf8"))
            .trim()
            .split("\n")
            .map((line) => (JSON.parse(line) as Notification).id),
      };
    },
  ],
  [
    "webhook",
    () => {
      server.requests.length = 0;
      server.respondWith = 200;
      const sink = new WebhookSink(server.url, { timeoutMs: 2000 });
      return {
        sink,
        delivered: async () => server.requests.map((r) => (JSON.parse(r.body) as { id: string }).id),
      };
    },
  ],
];

describe.each(factories)("sink contract: %s", (_name, make) => {
  it("has a non-empty name", () => {
    expect(make().sink.name).toMatch(/\S/);
  });

  it("delivers each notification once, in order, and reports ok", async () => {
    const { sink, delivered } = make();
    const first = notification();
    const second = notification({ id: "auth-service/auth@2", reason: "repeat" });
    expect(await sink.send(first)).toMatchObject({ status: "ok" });
    expect(await sink.send(second)).toMatchObject({ status: "ok" });
    expect(await delivered()).toEqual([first.id, "auth-service/auth@2"]);
  });

  it("accepts a resolved notification with no samples", async () => {
    const { sink } = make();
    const base = notification();
    const alert = base.alerts[0];
    if (!alert) throw new Error("fixture needs an alert");
    const resolved = notification({
      status: "resolved",
      reason: "resolved",
      alerts: [
        {
          ...alert,
          status: "resolved",
          endsAtMs: base.atMs,
          annotations: { ...alert.annotations, samples: [] },
        },
      ],
    });
    expect(await sink.send(resolved)).toMatchObject({ status: "ok" });
  });
});
