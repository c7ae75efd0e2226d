import { timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SilenceMatchers } from "../../shared/alerts/silence.js";
import { SettingsError } from "../../shared/errors.js";
import type { SilenceControl } from "./silence-control.js";
import type { DashboardState } from "./state.js";

export interface DashboardServerOptions {
  host: string;
  port: number;
  /** Names the command or flag in the message when the address cannot be had ("--dashboard"). */
  label?: string;
  /** Needed (as "Authorization: Bearer TOKEN") by every request that changes something. */
  token: string;
  state: DashboardState;
  silences: SilenceControl;
  /**
   * Brings the state up to date with the run (totals, firing alerts, silences); called before every
   * read and after every change, so an answer never lags the pipeline.
   */
  refresh?: () => void;
  /** How often the stream sends an update, whether or not anything changed. */
  streamIntervalMs?: number;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  /** Send an update to every stream now (the run calls it at the end, before closing). */
  broadcast(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4096;
const STREAM_INTERVAL_MS = 1000;
const MATCHER_KEYS = ["type", "service", "entity", "severity"] as const;

/**
 * The page's files: local/dashboard/static, found by walking up from this module, which runs from
 * the source tree (tsx, vitest), from the launcher's bundle in node_modules/.cache, or from
 * dist/local in the container image. uPlot comes from node_modules.
 */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "local", "dashboard", "static", "index.html"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("dashboard: cannot find local/dashboard/static above the program");
    dir = parent;
  }
}

interface StaticFile {
  type: string;
  body: Buffer;
}

function loadStatic(): Map<string, StaticFile> {
  const root = findRoot();
  const files = new Map<string, StaticFile>();
  const add = (path: string, file: string, type: string) =>
    files.set(path, { type, body: readFileSync(join(root, file)) });
  add("/", "local/dashboard/static/index.html", "text/html; charset=utf-8");
  add("/app.js", "local/dashboard/static/app.js", "text/javascript; charset=utf-8");
  add("/style.css", "local/dashboard/static/style.css", "text/css; charset=utf-8");
  add(
    "/vendor/uPlot.iife.min.js",
    "node_modules/uplot/dist/uPlot.iife.min.js",
    "text/javascript; charset=utf-8",
  );
  add("/vendor/uPlot.min.css", "node_modules/uplot/dist/uPlot.min.css", "text/css; charset=utf-8");
  return files;
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
} as const;

/**
 * The dashboard over node:http: the page, `GET /api/summary`, `GET /api/incidents/ID`,
 * `GET /api/stream` (Server-Sent Events, one update at least every second) and
 * `POST /api/silences` (token required). Reads need no token; anything that changes state does.
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const files = loadStatic();
  const streams = new Set<ServerResponse>();
  const { state } = options;
  let lastSentSeq = 0;

  const send = (res: ServerResponse, event: string, data: unknown) => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  const refresh = () => options.refresh?.();
  const broadcast = () => {
    refresh();
    const { lastSeq, points } = state.pointsSince(lastSentSeq);
    lastSentSeq = lastSeq;
    if (streams.size === 0) return;
    const message = { summary: state.summary(), points };
    for (const res of streams) send(res, "update", message);
  };
  const timer = setInterval(broadcast, options.streamIntervalMs ?? STREAM_INTERVAL_MS);
  timer.unref();

  let port = 0;
  const loopbackOnly = LOOPBACK.has(options.host);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Bound to loopback, only loopback names may be asked for: a web page whose name re-resolves to
    // 127.0.0.1 (DNS rebinding) sends its own Host and gets nothing.
    if (loopbackOnly && !loopbackHost(req.headers.host, port)) {
      return json(res, 421, { error: "this dashboard answers to 127.0.0.1, localhost or [::1] only" });
    }
    const url = new URL(req.url ?? "/", "http://dashboard");
    const path = url.pathname;
    if (req.method === "GET" || req.method === "HEAD") {
      const file = files.get(path === "/index.html" ? "/" : path);
      if (file !== undefined) {
        res.writeHead(200, { "content-type": file.type, "cache-control": "no-cache", ...SECURITY_HEADERS });
        res.end(req.method === "HEAD" ? undefined : file.body);
        return;
      }
      if (path === "/healthz") return json(res, 200, { ok: true });
      if (path === "/api/summary") {
        refresh();
        return json(res, 200, state.summary());
      }
      if (path.startsWith("/api/incidents/")) {
        let id: string;
        try {
          id = decodeURIComponent(path.slice("/api/incidents/".length));
        } catch {
          return json(res, 400, { error: "malformed incident id" });
        }
        const incident = state.incidentById(id);
        return incident === undefined
          ? json(res, 404, { error: "no such incident" })
          : json(res, 200, incident);
      }
      if (path === "/api/stream") {
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          connection: "keep-alive",
          ...SECURITY_HEADERS,
        });
        // A new client gets everything kept so far; later updates carry only new points.
        refresh();
        send(res, "snapshot", { summary: state.summary(), points: state.pointsSince(0).points });
        streams.add(res);
        req.on("close", () => streams.delete(res));
        return;
      }
      return json(res, 404, { error: "not found" });
    }
    if (req.method === "POST" && path === "/api/silences") {
      if (!authorised(req, options.token)) {
        return json(res, 401, { error: "a silence needs the dashboard token (Authorization: Bearer TOKEN)" });
      }
      if (!(req.headers["content-type"] ?? "").startsWith("application/json")) {
        return json(res, 415, { error: "send JSON (content-type: application/json)" });
      }
      const body = await readBody(req);
      if (body === null) return json(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` });
      const request = parseSilenceRequest(body);
      if (typeof request === "string") return json(res, 400, { error: request });
      try {
        const created = await options.silences.create({ ...request, createdBy: "dashboard" });
        broadcast();
        return json(res, 201, created);
      } catch (error) {
        return json(res, 400, { error: (error as Error).message });
      }
    }
    return json(res, 405, { error: "method not allowed" });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: String(error) });
      else res.destroy();
    });
  });
  // Neither the server nor an open stream keeps the process alive: the run does, and a run that
  // fails must still be able to exit.
  server.on("connection", (socket) => socket.unref());
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      // An address that is taken, forbidden or unknown is the user's to fix: exit 2 with one line.
      const code = error.code;
      if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
        reject(
          new SettingsError(
            `${options.label ?? "the dashboard"} cannot listen on ${options.host}:${options.port}: ${code}`,
            {
              cause: error,
            },
          ),
        );
      } else reject(error);
    });
    server.listen(options.port, options.host, () => resolve());
  });
  server.unref();
  port = (server.address() as AddressInfo).port;
  // Listening on every interface: the link to print is the loopback one (a container publishes it).
  const wildcard = options.host === "0.0.0.0" || options.host === "::";
  const shownHost = wildcard ? "127.0.0.1" : options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    broadcast,
    close: async () => {
      clearInterval(timer);
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function loopbackHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
}

function authorised(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7).trim() : "");
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The POST body: `{ matchers: {type?, service?, entity?, severity?}, durationMinutes, reason }`. */
export function parseSilenceRequest(
  body: string,
): { matchers: SilenceMatchers; durationMs: number; reason: string } | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return "body is not JSON";
  }
  if (typeof value !== "object" || value === null) return "body must be a JSON object";
  const { matchers, durationMinutes, reason } = value as Record<string, unknown>;
  if (typeof matchers !== "object" || matchers === null) return "matchers must be an object";
  const picked: Record<string, string> = {};
  for (const [key, wanted] of Object.entries(matchers)) {
    if (!(MATCHER_KEYS as readonly string[]).includes(key)) return `unknown matcher "${key}"`;
    if (typeof wanted !== "string" || wanted.length > 200) return `matcher "${key}" must be a short string`;
    picked[key] = wanted;
  }
  if (Object.keys(picked).length === 0) return "a silence needs at least one matcher";
  if (typeof durationMinutes !== "number" || !Number.isFinite(durationMinutes) || durationMinutes <= 0) {
    return "durationMinutes must be a positive number";
  }
  const text = typeof reason === "string" && reason.trim() !== "" ? reason.trim().slice(0, 200) : "silenced";
  return {
    matchers: picked as SilenceMatchers,
    durationMs: Math.round(durationMinutes * 60_000),
    reason: text,
  };
}
