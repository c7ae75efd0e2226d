/**
 * nginx and Apache access logs: the combined and common formats (with the common extras nginx
 * setups append: a quoted X-Forwarded-For list and a request time), and any layout given as an
 * nginx `log_format` or Apache `LogFormat` string. The client is taken as Filebeat's nginx module
 * does: from an address list (X-Forwarded-For, or a remote_addr that holds one), the first address
 * that is not private; if all are private, the first. Each line is a `request` event.
 */

import { parseAddress } from "../detectors/address-list.js";
import type { LogEvent, LogLevel } from "../log/schema.js";
import { civilProblem, civilToUtcMs } from "../time/calendar.js";
import { isoOf, monthNumber } from "./time.js";
import {
  type AdapterOptions,
  type IngestContext,
  type IngestResult,
  type LineAdapter,
  quoteLine,
  rejected,
  serviceFromSource,
  skipped,
} from "./types.js";

export interface AccessLogOptions extends AdapterOptions {
  /** nginx `log_format` or Apache `LogFormat` string; default: combined, common and their extensions. */
  logFormat?: string;
}

/**
 * Combined / common, optionally preceded by a virtual host ("example.com:443 ", Apache's
 * vhost_combined) and followed by extras. Groups: vhost, client, user, time, request, status,
 * bytes, referer, agent, rest.
 */
const COMBINED =
  /^(?:(?<vhost>[\w.-]+(?::\d+)?) (?=\S+ \S+ \S+ \[))?(?<client>[^\s,]+(?:, ?[^\s,]+)*) \S+ (?<user>\S+) \[(?<time>[^\]]+)\] "(?<request>(?:[^"\\]|\\.)*)" (?<status>\d{3}) (?<bytes>\d+|-)(?: "(?<referer>(?:[^"\\]|\\.)*)" "(?<agent>(?:[^"\\]|\\.)*)")?(?<rest>.*)$/;

/** Canonical fields a user format may provide, by nginx variable or Apache directive. */
type Field =
  | "client"
  | "user"
  | "time"
  | "time_iso"
  | "time_msec"
  | "request"
  | "method"
  | "uri"
  | "status"
  | "bytes"
  | "referer"
  | "agent"
  | "xff"
  | "request_time_s"
  | "request_time_us"
  | "request_time_ms"
  | "vhost"
  | "ignore";

const NGINX_VARIABLES: Record<string, Field> = {
  remote_addr: "client",
  binary_remote_addr: "client",
  realip_remote_addr: "client",
  remote_user: "user",
  time_local: "time",
  time_iso8601: "time_iso",
  msec: "time_msec",
  request: "request",
  request_method: "method",
  request_uri: "uri",
  uri: "uri",
  status: "status",
  body_bytes_sent: "bytes",
  bytes_sent: "bytes",
  http_referer: "referer",
  http_user_agent: "agent",
  http_x_forwarded_for: "xff",
  proxy_add_x_forwarded_for: "xff",
  request_time: "request_time_s",
  upstream_response_time: "ignore",
  host: "vhost",
  server_name: "vhost",
  http_host: "vhost",
};

const APACHE_DIRECTIVES: Record<string, Field> = {
  h: "client",
  a: "client",
  l: "ignore",
  u: "user",
  t: "time",
  r: "request",
  m: "method",
  U: "uri",
  s: "status",
  ">s": "status",
  b: "bytes",
  B: "bytes",
  O: "bytes",
  D: "request_time_us",
  T: "request_time_s",
  v: "vhost",
  V: "vhost",
  "{referer}i": "referer",
  "{user-agent}i": "agent",
  "{x-forwarded-for}i": "xff",
  "{host}i": "vhost",
  "{ms}T": "request_time_ms",
  "{us}T": "request_time_us",
};

interface CompiledFormat {
  pattern: RegExp;
  fields: Field[];
}

/** Turn a log_format / LogFormat string into a regular expression; a problem description otherwise. */
export function compileLogFormat(format: string): CompiledFormat | string {
  const fields: Field[] = [];
  let source = "^";
  const tokenPattern = /\$(\w+)|\$\{(\w+)\}|%(>?[a-zA-Z]|\{[^}]+\}[a-zA-Z])|\\"/g;
  let last = 0;
  const escapeRegex = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const tokens: { index: number; end: number; field: Field | null; name: string }[] = [];
  for (let match = tokenPattern.exec(format); match !== null; match = tokenPattern.exec(format)) {
    if (match[0] === '\\"') {
      tokens.push({ index: match.index, end: match.index + 2, field: null, name: '"' });
      continue;
    }
    const nginx = match[1] ?? match[2];
    let field: Field | undefined;
    let name: string;
    if (nginx !== undefined) {
      name = `$${nginx}`;
      field =
        NGINX_VARIABLES[nginx] ??
        (nginx.startsWith("http_") || nginx.startsWith("upstream_") || nginx.startsWith("sent_")
          ? "ignore"
          : undefined);
    } else {
      const directive = match[3] ?? "";
      name = `%${directive}`;
      field =
        APACHE_DIRECTIVES[directive] ??
        APACHE_DIRECTIVES[directive.toLowerCase()] ??
        (directive.startsWith("{") ? "ignore" : undefined);
      if (field === undefined && /^>?[a-zA-Z]$/.test(directive)) field = "ignore";
    }
    if (field === undefined) return `unknown variable ${name} in the log format`;
    tokens.push({ index: match.index, end: tokenPattern.lastIndex, field, name });
  }
  for (const token of tokens) {
    source += escapeRegex(format.slice(last, token.index));
    last = token.end;
    if (token.field === null) {
      source += '"';
      continue;
    }
    if (token.field === "time" && !source.endsWith("\\[")) {
      // Apache's %t brings its own brackets and holds a space: [14/Mar/2026:05:00:00 +0000].
      source += "(\\[[^\\]]*\\])";
      fields.push(token.field);
      continue;
    }
    const next = format.charAt(token.end) === "\\" ? format.charAt(token.end + 1) : format.charAt(token.end);
    // A value runs up to the literal that follows it; the time in [...] and the last field may hold spaces.
    const stop = next === "" ? null : next;
    source += stop === null ? "(.*)" : `((?:[^${escapeRegex(stop)}\\\\]|\\\\.)*)`;
    fields.push(token.field);
  }
  source += `${escapeRegex(format.slice(last))}$`;
  if (!fields.includes("status")) return "the log format has no status ($status or %s / %>s)";
  try {
    return { pattern: new RegExp(source), fields };
  } catch (error) {
    return `cannot build a pattern from the log format: ${(error as Error).message}`;
  }
}

/** RFC 1918, loopback, link-local, CGNAT and IPv6 unique-local / link-local / loopback. */
export function isPrivateAddress(text: string): boolean {
  const address = parseAddress(text);
  if (address === null) return false;
  if (address.version === 4) {
    const v = Number(address.value);
    const a = v >>> 24;
    const b = (v >>> 16) & 0xff;
    return (
      a === 10 ||
      a === 127 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const top = Number(address.value >> 112n);
  return address.value === 1n || (top & 0xfe00) === 0xfc00 || (top & 0xffc0) === 0xfe80;
}

/** Filebeat's choice from an address list: the first public address, else the first one. */
export function clientFromList(list: string): string | null {
  const addresses = list
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "" && part !== "-" && part !== "unknown");
  if (addresses.length === 0) return null;
  for (const address of addresses) {
    if (parseAddress(address) !== null && !isPrivateAddress(address)) return stripPort(address);
  }
  return stripPort(addresses[0] as string);
}

function stripPort(address: string): string {
  if (!address.includes(":")) return address;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address);
  if (v4?.[1] !== undefined) return v4[1];
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  return v6?.[1] ?? address;
}

/** `14/Mar/2026:05:00:00 +0000` (nginx $time_local, Apache %t) as epoch ms, or a problem. */
export function parseHttpDate(text: string): number | string {
  const match =
    /^(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3})\d*)? ([+-])(\d{2})(\d{2})$/.exec(
      text,
    );
  if (match === null) return `expected a time like 14/Mar/2026:05:00:00 +0000, got ${quoteLine(text)}`;
  const day = Number(match[1]);
  const month = monthNumber(match[2] ?? "");
  const year = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  if (civilProblem(year, month, day, hour, minute, second, true) !== null) {
    return `impossible time ${quoteLine(text)}`;
  }
  const local = civilToUtcMs(
    year,
    month,
    day,
    hour,
    minute,
    second,
    Number((match[7] ?? "0").padEnd(3, "0")),
  );
  const offset = (Number(match[9]) * 60 + Number(match[10])) * 60_000 * (match[8] === "-" ? -1 : 1);
  return local - offset;
}

const STATIC_QUERY = /[?#]/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export class AccessLogAdapter implements LineAdapter {
  readonly format;
  private readonly custom: CompiledFormat | null;
  private readonly service: string | undefined;

  constructor(format: "nginx" | "apache", options: AccessLogOptions = {}) {
    this.format = format;
    this.service = options.service;
    if (options.logFormat === undefined) this.custom = null;
    else {
      const compiled = compileLogFormat(options.logFormat);
      if (typeof compiled === "string") throw new RangeError(compiled);
      this.custom = compiled;
    }
  }

  read(line: string, context: IngestContext): IngestResult {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (text.trim() === "") return rejected("empty_line", "line is empty or whitespace only");
    if (text.startsWith("#")) return skipped("comment");
    if (text.length > 16 * 1024)
      return rejected("line_too_long", `line is ${text.length} characters, the limit is 16384`);
    return this.custom === null
      ? this.readCombined(text, context)
      : this.readCustom(text, context, this.custom);
  }

  private readCombined(text: string, context: IngestContext): IngestResult {
    const match = COMBINED.exec(text);
    const g = match?.groups;
    if (g === undefined)
      return rejected("bad_access_log", `not a combined or common access log line: ${quoteLine(text)}`);
    const time = parseHttpDate(g.time ?? "");
    if (typeof time === "string") return rejected("bad_timestamp", time);
    // Extras after the user agent: a quoted X-Forwarded-For list, then a request time in seconds.
    let xff: string | null = null;
    let requestTimeS: number | null = null;
    const rest = (g.rest ?? "").trim();
    if (rest !== "") {
      const extras = /^(?:"([^"]*)")?\s*(?:(?:rt=)?(\d+(?:\.\d+)?))?/.exec(rest);
      if (extras?.[1] !== undefined && extras[1] !== "-") xff = extras[1];
      if (extras?.[2] !== undefined) requestTimeS = Number(extras[2]);
    }
    return this.event(context, {
      timeMs: time,
      client: g.client ?? "-",
      xff,
      user: g.user ?? "-",
      request: g.request ?? "",
      method: null,
      uri: null,
      status: Number(g.status),
      bytes: g.bytes === undefined || g.bytes === "-" ? null : Number(g.bytes),
      agent: g.agent ?? null,
      latencyMs: requestTimeS === null ? null : requestTimeS * 1000,
      vhost: g.vhost === undefined ? null : g.vhost.replace(/:\d+$/, ""),
      line: text,
    });
  }

  private readCustom(text: string, context: IngestContext, format: CompiledFormat): IngestResult {
    const match = format.pattern.exec(text);
    if (match === null)
      return rejected("bad_access_log", `does not fit the given log format: ${quoteLine(text)}`);
    const values: Partial<Record<Field, string>> = {};
    format.fields.forEach((field, index) => {
      const value = match[index + 1];
      if (value !== undefined && values[field] === undefined) values[field] = value;
    });
    let timeMs: number | string = "the log format has no time ($time_local, $time_iso8601, $msec or %t)";
    if (values.time !== undefined) timeMs = parseHttpDate(values.time.replace(/^\[|\]$/g, ""));
    else if (values.time_iso !== undefined) {
      const parsed = Date.parse(values.time_iso);
      timeMs =
        Number.isFinite(parsed) && /[Zz]|[+-]\d{2}:?\d{2}$/.test(values.time_iso)
          ? parsed
          : `not an ISO 8601 time with a zone: ${quoteLine(values.time_iso)}`;
    } else if (values.time_msec !== undefined) {
      const seconds = Number(values.time_msec);
      timeMs = Number.isFinite(seconds)
        ? Math.round(seconds * 1000)
        : `not a number: ${quoteLine(values.time_msec)}`;
    }
    if (typeof timeMs === "string") return rejected("bad_timestamp", timeMs);
    const status = Number(values.status);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      return rejected("bad_access_log", `status is not an HTTP status: ${quoteLine(values.status ?? "")}`);
    }
    const number = (value: string | undefined): number | null => {
      if (value === undefined || value === "-" || value.trim() === "") return null;
      const n = Number(value.split(/[ ,]/)[0]);
      return Number.isFinite(n) ? n : null;
    };
    const seconds = number(values.request_time_s);
    const micros = number(values.request_time_us);
    const millis = number(values.request_time_ms);
    return this.event(context, {
      timeMs,
      client: values.client ?? "-",
      xff: values.xff === undefined || values.xff === "-" ? null : values.xff,
      user: values.user ?? "-",
      request: values.request ?? [values.method, values.uri].filter((v) => v !== undefined).join(" "),
      method: values.method ?? null,
      uri: values.uri ?? null,
      status,
      bytes: number(values.bytes),
      agent: values.agent === undefined || values.agent === "-" ? null : values.agent,
      latencyMs: seconds !== null ? seconds * 1000 : micros !== null ? micros / 1000 : millis,
      vhost: values.vhost === undefined || values.vhost === "-" ? null : values.vhost.replace(/:\d+$/, ""),
      line: text,
    });
  }

  private event(
    context: IngestContext,
    r: {
      timeMs: number;
      client: string;
      xff: string | null;
      user: string;
      request: string;
      method: string | null;
      uri: string | null;
      status: number;
      bytes: number | null;
      agent: string | null;
      latencyMs: number | null;
      vhost: string | null;
      line: string;
    },
  ): IngestResult {
    let method = r.method;
    let target = r.uri;
    if (method === null || target === null) {
      const parts = /^([A-Z]{2,16}) (\S+)(?: HTTP\/[\d.]+)?$/.exec(r.request);
      if (parts) {
        method ??= parts[1] ?? null;
        target ??= parts[2] ?? null;
      }
    }
    const full = target ?? r.request;
    const query = full.search(STATIC_QUERY);
    const path = query < 0 ? full : full.slice(0, query);
    const client =
      r.xff !== null
        ? clientFromList(r.xff)
        : r.client.includes(",")
          ? clientFromList(r.client)
          : stripPort(r.client);
    const level: LogLevel = r.status >= 500 ? "ERROR" : r.status >= 400 ? "WARN" : "INFO";
    const isName = client !== null && !client.includes(":") && !IPV4.test(client);
    const event: LogEvent = {
      timestamp: isoOf(r.timeMs),
      timeMs: r.timeMs,
      service: this.service ?? r.vhost ?? serviceFromSource(context.source),
      level,
      event_type: "request",
      message: r.request,
      metrics: {
        cpu_pct: null,
        memory_pct: null,
        latency_ms: r.latencyMs !== null && r.latencyMs >= 0 ? r.latencyMs : null,
      },
      status_code: r.status >= 100 && r.status <= 599 ? r.status : null,
      source_ip: client === null || client === "-" || isName ? null : client,
      user: r.user === "-" || r.user === "" ? null : r.user,
      request_id: null,
      source_host: isName && client !== "-" ? client : null,
      origin: this.format,
      http: { method, path, vhost: r.vhost, user_agent: r.agent === "-" ? null : r.agent, bytes: r.bytes },
    };
    return { status: "event", event };
  }

  snapshot(): unknown {
    return null;
  }

  restore(_state: unknown): void {}
}

/** Whether a line looks like a combined/common access log line (for `auto`). */
export function isAccessLogLine(line: string): boolean {
  return COMBINED.test(line);
}
