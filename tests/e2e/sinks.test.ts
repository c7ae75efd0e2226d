/**
 * Sinks switched on, end to end: a spawned local run with a `sinks:` config posts to receivers on
 * loopback. One receiver checks the Alertmanager webhook v4 payload strictly; one plays Slack
 * (429 with Retry-After first, then about one message per second); one answers with a redirect,
 * which must be refused.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalReport } from "../../local/report.js";
import { ZERO_TIME } from "../../shared/sinks/alertmanager.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const START = "2026-03-02T08:00:00Z";
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const SECRET = "T000/B000/SECRET-TOKEN-XYZ";

interface Received {
  atMs: number;
  body: string;
  contentType: string;
}

interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

async function receiver(
  path: string,
  answer: (req: IncomingMessage, res: ServerResponse, index: number) => void,
): Promise<Receiver> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        atMs: Date.now(),
        body: Buffer.concat(chunks).toString("utf8"),
        contentType: req.headers["content-type"] ?? "",
      });
      answer(req, res, received.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("sinks on loopback receivers", () => {
  const dir = mkdtempSync(join(tmpdir(), "sinks-e2e-"));
  let alertmanager: Receiver;
  let slack: Receiver;
  let redirect: Receiver;
  let redirectTarget: Receiver;
  let report: LocalReport;
  let output = "";

  beforeAll(async () => {
    alertmanager = await receiver("/am", (_req, res) => res.end());
    slack = await receiver(`/services/${SECRET}`, (_req, res, i) => {
      if (i === 0) {
        res.writeHead(429, { "retry-after": "1" });
        res.end("rate_limited");
        return;
      }
      res.end("ok");
    });
    redirectTarget = await receiver("/elsewhere", (_req, res) => res.end("ok"));
    redirect = await receiver("/moved", (_req, res) => {
      res.writeHead(302, { location: redirectTarget.url });
      res.end();
    });
    const config = join(dir, "config.yaml");
    writeFileSync(
      config,
      [
        "sinks:",
        "  - type: alertmanager",
        "    name: am",
        "    url_env: AM_URL",
        "    receiver: team-sre",
        "    external_url: http://127.0.0.1:9093",
        "  - type: slack",
        "    url_file: slack-url.txt",
        "  - type: slack",
        "    name: slack-moved",
        "    url_env: MOVED_URL",
        "",
      ]
        .join("\n")
        .replace("slack-url.txt", join(dir, "slack-url.txt")),
    );
    writeFileSync(join(dir, "slack-url.txt"), `${slack.url}\n`);
    const reportPath = join(dir, "report.json");
    // 600 simulated seconds: a handful of incidents, each firing then resolving.
    const child = spawn(
      process.execPath,
      [
        ...["--import", "tsx", join(ROOT, "local/cli.ts")],
        ...["--duration", "2", "--speed", "300", "--seed", "1", "--start", START],
        ...["--config", config, "--report", reportPath, "--history", join(dir, "h.sqlite")],
      ],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: "1", AM_URL: alertmanager.url, MOVED_URL: redirect.url },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, output).toBe(0);
    report = JSON.parse(readFileSync(reportPath, "utf8")) as LocalReport;
  }, 180_000);

  afterAll(async () => {
    for (const r of [alertmanager, slack, redirect, redirectTarget]) await r?.close();
  });

  it("posts the Alertmanager webhook v4 payload, field for field", () => {
    expect(alertmanager.received.length).toBeGreaterThan(2);
    const messages = alertmanager.received.map((r) => {
      expect(r.contentType).toBe("application/json");
      return JSON.parse(r.body) as Record<string, unknown>;
    });
    const strings = (value: unknown) => {
      expect(value).toBeTypeOf("object");
      for (const v of Object.values(value as object)) expect(v).toBeTypeOf("string");
    };
    for (const m of messages) {
      expect(Object.keys(m).sort()).toEqual(
        [
          "alerts",
          "commonAnnotations",
          "commonLabels",
          "externalURL",
          "groupKey",
          "groupLabels",
          "receiver",
          "status",
          "truncatedAlerts",
          "version",
        ].sort(),
      );
      expect(m.version).toBe("4");
      expect(m.receiver).toBe("team-sre");
      expect(m.externalURL).toBe("http://127.0.0.1:9093");
      expect(["firing", "resolved"]).toContain(m.status);
      expect(m.truncatedAlerts).toBe(0);
      strings(m.groupLabels);
      strings(m.commonLabels);
      strings(m.commonAnnotations);
      const groupLabels = m.groupLabels as Record<string, string>;
      expect(Object.keys(groupLabels).sort()).toEqual(["family", "service"]);
      expect(m.groupKey).toBe(`{}:{family="${groupLabels.family}", service="${groupLabels.service}"}`);
      const alerts = m.alerts as Record<string, unknown>[];
      expect(alerts.length).toBeGreaterThan(0);
      for (const a of alerts) {
        expect(Object.keys(a).sort()).toEqual(
          ["annotations", "endsAt", "fingerprint", "generatorURL", "labels", "startsAt", "status"].sort(),
        );
        strings(a.labels);
        strings(a.annotations);
        const labels = a.labels as Record<string, string>;
        expect(labels.alertname).toMatch(/^[a-z_]+$/);
        expect(labels.service).toBe(groupLabels.service);
        expect(a.annotations).toMatchObject({
          summary: expect.any(String),
          description: expect.stringContaining("vs threshold"),
          runbook: expect.any(String),
        });
        for (const [k, v] of Object.entries(m.commonLabels as object)) expect(labels[k]).toBe(v);
        expect(a.startsAt).toMatch(RFC3339);
        expect(a.generatorURL).toBeTypeOf("string");
        expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
        if (a.status === "firing") {
          expect(a.endsAt).toBe(ZERO_TIME);
        } else {
          expect(a.status).toBe("resolved");
          expect(a.endsAt).toMatch(RFC3339);
          expect(Date.parse(a.endsAt as string)).toBeGreaterThanOrEqual(Date.parse(a.startsAt as string));
        }
      }
      if (m.status === "firing") expect(alerts.some((a) => a.status === "firing")).toBe(true);
    }
    // One group's messages from firing to resolved share one group key.
    const resolved = messages.find((m) => m.status === "resolved");
    expect(resolved).toBeDefined();
    const sameGroup = messages.filter(
      (m) => JSON.stringify(m.groupLabels) === JSON.stringify(resolved!.groupLabels),
    );
    expect(sameGroup.some((m) => m.status === "firing")).toBe(true);
    expect(new Set(sameGroup.map((m) => m.groupKey)).size).toBe(1);
  });

  it("plays Slack: waits out a 429's Retry-After, keeps about one message per second, stays within Block Kit limits", () => {
    const got = slack.received;
    expect(got.length).toBeGreaterThan(3);
    // The first message was refused with 429 Retry-After: 1; the same message came back after it.
    expect(got[1]!.body).toBe(got[0]!.body);
    expect(got[1]!.atMs - got[0]!.atMs).toBeGreaterThanOrEqual(950);
    for (let i = 2; i < got.length; i++) expect(got[i]!.atMs - got[i - 1]!.atMs).toBeGreaterThanOrEqual(900);
    const bodies = got.map((r) => JSON.parse(r.body) as { text: string; blocks: Record<string, unknown>[] });
    for (const b of bodies) {
      expect(b.text.length).toBeGreaterThan(0);
      expect(b.blocks.length).toBeLessThanOrEqual(50);
      const header = b.blocks[0] as { type: string; text: { type: string; text: string } };
      expect(header.type).toBe("header");
      expect(header.text.type).toBe("plain_text");
      expect(header.text.text.length).toBeLessThanOrEqual(150);
      for (const block of b.blocks.filter((x) => x.type === "section")) {
        expect((block.text as { text: string }).text.length).toBeLessThanOrEqual(3000);
      }
    }
    expect(bodies.some((b) => b.text.startsWith("[RESOLVED]"))).toBe(true);
    expect(bodies.some((b) => JSON.stringify(b.blocks).includes("npm run silence -- add"))).toBe(true);
    expect(report.sink_failures.slack ?? 0).toBe(0);
  });

  it("refuses a redirect and never follows it", () => {
    expect(redirect.received.length).toBeGreaterThan(0);
    expect(redirectTarget.received).toHaveLength(0);
    expect(report.sink_failures["slack-moved"]).toBe(redirect.received.length);
  });

  it("never prints or reports a webhook URL", () => {
    expect(output).not.toContain(SECRET);
    expect(JSON.stringify(report)).not.toContain(SECRET);
    expect(output).not.toContain(redirect.url);
  });
});
