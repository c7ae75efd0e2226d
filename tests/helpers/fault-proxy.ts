/**
 * A loopback HTTP proxy in front of moto_server that fails on command, so the real SDK meets real
 * outages: `503` (SNS's ServiceUnavailable), `throttle` (400 Throttling), `refuse` (the connection
 * is closed before any answer), `hang` (the request is never answered) or `pass` (forwarded).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { freePort } from "./moto.js";

export type FaultMode = "pass" | "503" | "throttle" | "refuse" | "hang";

export interface FaultProxy {
  endpoint: string;
  mode: FaultMode;
  /** Picks the mode per request from its body (null: `mode`), e.g. hang only DynamoDB's claim writes. */
  decide: ((body: string) => FaultMode | null) | null;
  /** Runs before a request is forwarded (mode `pass`): lets a test slip another write in first. */
  beforeForward: ((body: string) => Promise<void>) | null;
  /** Requests answered per mode so far. */
  counts: Record<FaultMode, number>;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number, mode: FaultMode = "pass"): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    endpoint: "",
    mode,
    decide: null,
    beforeForward: null,
    counts: { pass: 0, "503": 0, throttle: 0, refuse: 0, hang: 0 },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const current = proxy.decide?.(body.toString("utf8")) ?? proxy.mode;
    proxy.counts[current]++;
    switch (current) {
      case "503":
        res.writeHead(503, { "content-type": "text/xml" });
        res.end(
          "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>down</Message></Error><RequestId>x</RequestId></ErrorResponse>",
        );
        return;
      case "throttle":
        res.writeHead(400, { "content-type": "text/xml" });
        res.end(
          "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>",
        );
        return;
      case "refuse":
        req.socket.destroy();
        return;
      case "hang":
        return; // never answered; close() destroys the socket
      case "pass":
        void (async () => {
          await proxy.beforeForward?.(body.toString("utf8"));
          await forward(targetPort, req, res, body);
        })();
    }
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks)));
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  proxy.endpoint = `http://127.0.0.1:${port}`;
  return proxy;
}

async function forward(targetPort: number, req: IncomingMessage, res: ServerResponse, body: Buffer) {
  try {
    const upstream = await fetch(`http://127.0.0.1:${targetPort}${req.url}`, {
      method: req.method ?? "POST",
      headers: Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "content-length"),
      ) as Record<string, string>,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(body),
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/xml" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  } catch {
    req.socket.destroy();
  }
}
