import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Notification } from "../../../shared/alerts/types.js";

export const T0 = Date.parse("2026-03-01T12:00:00Z");

export function notification(overrides: Partial<Notification> = {}): Notification {
  return {
    id: `auth-service/auth@${T0}`,
    groupKey: "auth-service/auth",
    reason: "new",
    status: "firing",
    severity: "critical",
    title: "[FIRING:1] Brute force from IP on auth-service (203.0.113.7)",
    atMs: T0,
    alerts: [
      {
        fingerprint: "0123456789abcdef",
        type: "brute_force_ip",
        service: "auth-service",
        entity: "203.0.113.7",
        status: "firing",
        severity: "critical",
        startsAtMs: T0 - 10_000,
        endsAtMs: null,
        annotations: {
          summary: "42 failed logins from 203.0.113.7 in 60s",
          observed: 42,
          threshold: 10,
          unit: " failures",
          windowMs: 60_000,
          samples: [
            {
              timestamp: "2026-03-01T11:59:59.000Z",
              service: "auth-service",
              level: "WARN",
              event_type: "auth_failure",
              message: `invalid password ${"x".repeat(300)}`,
              metrics: { cpu_pct: 20, memory_pct: 30, latency_ms: 5 },
              status_code: 401,
              source_ip: "203.0.113.7",
              user: "alice",
              request_id: "r-1",
            },
          ],
          details: { users: 7 },
          runbook: "Block the IP at the edge.",
        },
      },
    ],
    ...overrides,
  };
}

export interface TestServer {
  url: string;
  requests: { method: string; contentType: string; body: string }[];
  /** Status code the next requests get; defaults to 200. */
  respondWith: number;
  /** Status codes answered first, one per request, before falling back to `respondWith`. */
  respondSequence: number[];
  /** Headers sent with every response (for example a redirect's Location). */
  respondHeaders: Record<string, string>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 with an ephemeral port, recording what it receives. */
export async function startServer(): Promise<TestServer> {
  const state: TestServer = {
    url: "",
    requests: [],
    respondWith: 200,
    respondSequence: [],
    respondHeaders: {},
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.requests.push({
        method: req.method ?? "",
        contentType: req.headers["content-type"] ?? "",
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.statusCode = state.respondSequence.shift() ?? state.respondWith;
      for (const [name, value] of Object.entries(state.respondHeaders)) res.setHeader(name, value);
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}/hook`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
