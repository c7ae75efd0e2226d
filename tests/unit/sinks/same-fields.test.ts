import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { nodeWebhookTransport } from "../../../local/sinks/configured.js";
import { ConsoleSink } from "../../../local/sinks/console.js";
import { JsonlFileSink } from "../../../local/sinks/jsonl-file.js";
import { WebhookSink } from "../../../shared/sinks/webhook.js";
import { wireAlert } from "../../../shared/sinks/wire.js";
import { alert, notification } from "../functions/fixtures.js";
import { startServer } from "./fixtures.js";

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe("console, JSON-lines file and webhook carry the same fields", () => {
  it("RFC 3339 times, labels and annotations, for a firing and a resolved alert", async () => {
    const resolved = alert({
      fingerprint: "fp-2",
      entity: "203.0.113.8",
      status: "resolved",
      endsAtMs: Date.UTC(2026, 0, 5, 10, 3, 0),
    });
    const n = notification({ alerts: [alert(), resolved] });

    const stream = new PassThrough();
    let consoleText = "";
    stream.on("data", (c: Buffer) => {
      consoleText += c.toString();
    });
    await new ConsoleSink(stream, { color: false }).send(n);

    const path = join(await mkdtemp(join(tmpdir(), "same-fields-")), "a.jsonl");
    await new JsonlFileSink(path).send(n);
    const line = JSON.parse(await readFile(path, "utf8"));

    const server = await startServer();
    await new WebhookSink(server.url, {
      transport: nodeWebhookTransport,
    }).send(n);
    await server.close();
    const hook = JSON.parse(server.requests[0]?.body ?? "{}");

    for (const out of [line, hook]) expect(out.at).toBe(new Date(n.atMs).toISOString());
    expect(consoleText).toContain(new Date(n.atMs).toISOString());
    n.alerts.forEach((a, i) => {
      const wire = wireAlert(a);
      expect(wire.startsAt).toMatch(RFC3339);
      for (const out of [line.alerts[i], hook.alerts[i]]) {
        expect(out.startsAt).toBe(wire.startsAt);
        expect(out.endsAt).toBe(wire.endsAt);
        expect(out.labels).toEqual(wire.labels);
        for (const key of ["summary", "description", "runbook"] as const) {
          expect(out.annotations[key]).toBe(wire.annotations[key]);
        }
      }
      expect(consoleText).toContain(wire.startsAt);
      if (wire.endsAt !== null) expect(consoleText).toContain(wire.endsAt);
      expect(consoleText).toContain(
        `labels: ${Object.entries(wire.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`,
      );
      expect(consoleText).toContain(wire.annotations.summary as string);
      expect(consoleText).toContain(wire.annotations.description as string);
      expect(consoleText).toContain(wire.annotations.runbook as string);
    });
    expect(line.alerts[1].endsAt).toMatch(RFC3339);
    expect(line.alerts[0].endsAt).toBeNull();
  });
});
