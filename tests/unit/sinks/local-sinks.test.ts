import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeWebhookTransport } from "../../../local/sinks/configured.js";
import { ConsoleSink } from "../../../local/sinks/console.js";
import { JsonlFileSink } from "../../../local/sinks/jsonl-file.js";
import { WebhookSink, type webhookBody } from "../../../shared/sinks/webhook.js";
import { notification, startServer, type TestServer } from "./fixtures.js";

describe("ConsoleSink colour", () => {
  const tty = () => Object.assign(new PassThrough(), { isTTY: true });
  it.each<
    [
      string,
      NodeJS.WritableStream & { isTTY?: boolean },
      boolean | undefined,
      Record<string, string>,
      boolean,
    ]
  >([
    ["TTY, NO_COLOR unset", tty(), undefined, {}, true],
    ["TTY, NO_COLOR set", tty(), undefined, { NO_COLOR: "1" }, false],
    ["TTY, NO_COLOR empty (unset per no-color.org)", tty(), undefined, { NO_COLOR: "" }, true],
    ["TTY, caller says no colour", tty(), false, {}, false],
    ["not a TTY, even if the caller asks", new PassThrough(), true, {}, false],
  ])("%s -> coloured: %s", async (_name, stream, color, env, expected) => {
    const sink = new ConsoleSink(stream, { color, env });
    expect(sink.colored).toBe(expected);
    let text = "";
    stream.on("data", (c: Buffer) => {
      text += c.toString("utf8");
    });
    await sink.send(notification());
    expect(text.includes("\u001b[")).toBe(expected);
  });

  it("reports a failing stream as an error result", async () => {
    const broken = new Writable({
      write(_chunk, _enc, callback) {
        callback(new Error("EPIPE"));
      },
    });
    broken.on("error", () => {});
    const result = await new ConsoleSink(broken).send(notification());
    expect(result).toEqual({ status: "error", error: "console write failed: EPIPE" });
  });
});

describe("JsonlFileSink", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "jsonl-sink-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes one complete JSON object per line that round-trips", async () => {
    const path = join(dir, "a.jsonl");
    const n = notification();
    await new JsonlFileSink(path).send(n);
    const text = await readFile(path, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    expect(JSON.parse(text)).toMatchObject(n);
  });

  it.each([
    ["a directory", (d: string) => d],
    ["a missing parent directory", (d: string) => join(d, "no", "such", "dir", "a.jsonl")],
  ])("reports an error (not a throw) when the path is %s", async (_name, pathOf) => {
    const result = await new JsonlFileSink(pathOf(dir)).send(notification());
    expect(result.status).toBe("error");
    expect(result).toMatchObject({ error: expect.stringContaining("append to") });
  });
});

describe("WebhookSink", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it.each<[number, string]>([
    [200, "ok"],
    [204, "ok"],
    [400, "error"],
    [404, "error"],
    [429, "retryable"],
    [500, "retryable"],
    [503, "retryable"],
  ])("HTTP %i -> %s", async (code, expected) => {
    server.respondWith = code;
    const result = await new WebhookSink(server.url, {
      transport: nodeWebhookTransport,
      attempts: 1,
    }).send(notification());
    expect(result.status).toBe(expected);
    if (result.status !== "ok") expect(result.error).toBe(`webhook answered HTTP ${code}`);
  });

  it("POSTs Slack-compatible JSON with a text field", async () => {
    server.respondWith = 200;
    server.requests.length = 0;
    await new WebhookSink(server.url, {
      transport: nodeWebhookTransport,
    }).send(notification());
    const [request] = server.requests;
    expect(request?.method).toBe("POST");
    expect(request?.contentType).toBe("application/json");
    const body = JSON.parse(request?.body ?? "{}") as ReturnType<typeof webhookBody>;
    expect(body.text).toContain("203.0.113.7");
    expect(body.alerts[0]).toMatchObject({ type: "brute_force_ip", observed: 42, threshold: 10 });
  });

  describe("retries", () => {
    const noWait = { backoffMs: 1, transport: { ...nodeWebhookTransport, sleep: async () => {} } };

    it("retries a 503 and succeeds on the next attempt", async () => {
      server.requests.length = 0;
      server.respondSequence = [503];
      server.respondWith = 200;
      const result = await new WebhookSink(server.url, noWait).send(notification());
      expect(result).toEqual({ status: "ok", attempts: 2 });
      expect(server.requests).toHaveLength(2);
      expect(server.requests[1]?.body).toBe(server.requests[0]?.body);
    });

    it("does not retry a 400: the request itself is wrong", async () => {
      server.requests.length = 0;
      server.respondWith = 400;
      const result = await new WebhookSink(server.url, noWait).send(notification());
      expect(result.status).toBe("error");
      expect(server.requests).toHaveLength(1);
    });

    it("gives up after `attempts` and reports the last failure as retryable", async () => {
      server.requests.length = 0;
      server.respondSequence = [503, 502];
      server.respondWith = 429;
      const waits: number[] = [];
      const sink = new WebhookSink(server.url, {
        transport: {
          ...nodeWebhookTransport,
          sleep: async (ms) => {
            waits.push(ms);
          },
        },
        attempts: 3,
        backoffMs: 10,
      });
      const result = await sink.send(notification());
      expect(result).toEqual({ status: "retryable", error: "webhook answered HTTP 429", attempts: 3 });
      expect(server.requests).toHaveLength(3);
      expect(waits).toEqual([10, 20]);
    });

    it("stops retrying at the deadline", async () => {
      server.requests.length = 0;
      server.respondWith = 503;
      const sink = new WebhookSink(server.url, {
        transport: nodeWebhookTransport,
        attempts: 10,
        backoffMs: 50,
        deadlineMs: 120,
      });
      const result = await sink.send(notification());
      expect(result.status).toBe("retryable");
      // 50 ms then 100 ms of backoff would pass the 120 ms deadline: at most two attempts fit.
      expect(server.requests.length).toBeLessThanOrEqual(2);
      expect(server.requests.length).toBeGreaterThanOrEqual(1);
    });
  });

  it("reports a refused connection as retryable", async () => {
    const closed = await startServer();
    const url = closed.url;
    await closed.close();
    const result = await new WebhookSink(url, {
      transport: nodeWebhookTransport,
      timeoutMs: 2000,
      attempts: 1,
    }).send(notification());
    expect(result).toMatchObject({
      status: "retryable",
      error: expect.stringContaining("webhook request failed"),
    });
  });

  it("reports a hung receiver as retryable after its timeout", async () => {
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(new Error("aborted")));
      });
    const result = await new WebhookSink("http://127.0.0.1:9/hook", {
      transport: { ...nodeWebhookTransport, fetch: hanging },
      timeoutMs: 20,
      attempts: 1,
    }).send(notification());
    expect(result).toEqual({ status: "retryable", error: "webhook timed out after 20 ms", attempts: 1 });
  });
});
