import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../shared/config/defaults.js";
import { HttpProbingDetector, RequestFloodDetector } from "../../../shared/detectors/http-abuse.js";
import { clientFromList, compileLogFormat } from "../../../shared/ingest/access-log.js";
import { createAdapter } from "../../../shared/ingest/index.js";
import type { IngestResult, LineAdapter } from "../../../shared/ingest/types.js";
import type { LogEvent } from "../../../shared/log/schema.js";

const CONTEXT = { source: "/var/log/nginx/shop.access.log" };

function adapter(settings: Parameters<typeof createAdapter>[0]): LineAdapter {
  const built = createAdapter(settings);
  if (typeof built === "string") throw new Error(built);
  return built;
}

function event(result: IngestResult): LogEvent {
  if (result.status !== "event") throw new Error(`expected an event, got ${JSON.stringify(result)}`);
  return result.event;
}

describe("nginx / apache access logs", () => {
  const nginx = adapter({ format: "nginx" });

  it.each([
    [
      "combined",
      '203.0.113.7 - - [14/Mar/2026:05:00:00 +0000] "GET /products/42?ref=mail HTTP/1.1" 200 5120 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64)"',
      {
        source_ip: "203.0.113.7",
        status_code: 200,
        level: "INFO",
        service: "shop.access",
        timestamp: "2026-03-14T05:00:00.000Z",
        http: { method: "GET", path: "/products/42", bytes: 5120 },
      },
    ],
    [
      "common with a user and a zone",
      '198.51.100.20 - alice [14/Mar/2026:07:00:00 +0200] "POST /login HTTP/1.1" 401 23',
      {
        source_ip: "198.51.100.20",
        user: "alice",
        status_code: 401,
        level: "WARN",
        timestamp: "2026-03-14T05:00:00.000Z",
      },
    ],
    [
      "combined + X-Forwarded-For + request time",
      '10.0.0.5 - - [14/Mar/2026:05:00:01 +0000] "GET /api/cart HTTP/1.1" 502 157 "-" "okhttp/4.12" "10.1.1.1, 203.0.113.99, 172.16.0.4" 1.503',
      {
        source_ip: "203.0.113.99",
        status_code: 502,
        level: "ERROR",
        metrics: { latency_ms: 1503, cpu_pct: null },
      },
    ],
    [
      "Apache vhost_combined",
      'shop.example:443 192.0.2.44 - - [14/Mar/2026:05:00:02 +0000] "GET /robots.txt HTTP/1.1" 404 196 "-" "Googlebot/2.1"',
      {
        source_ip: "192.0.2.44",
        service: "shop.example",
        http: { vhost: "shop.example", path: "/robots.txt" },
      },
    ],
    [
      "IPv6 client and a garbage request line",
      '2001:db8::7 - - [14/Mar/2026:05:00:03 +0000] "\\x16\\x03\\x01\\x00" 400 157 "-" "-"',
      { source_ip: "2001:db8::7", status_code: 400, http: { method: null } },
    ],
    [
      "remote_addr holding a forwarded list (Filebeat's NGINX_ADDRESS_LIST)",
      '192.168.1.10, 198.51.100.77 - - [14/Mar/2026:05:00:04 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8.5.0"',
      { source_ip: "198.51.100.77" },
    ],
  ])("%s", (_name, line, expected) => {
    expect(event(nginx.read(line, CONTEXT))).toMatchObject(expected);
  });

  it("refuses lines that are not access logs, with the reason", () => {
    expect(
      nginx.read("Mar 14 05:00:00 web1 sshd[1]: Failed password for root from 1.2.3.4", CONTEXT),
    ).toMatchObject({
      status: "rejected",
      reason: "bad_access_log",
    });
    expect(
      nginx.read('1.2.3.4 - - [31/Feb/2026:05:00:00 +0000] "GET / HTTP/1.1" 200 1', CONTEXT),
    ).toMatchObject({
      status: "rejected",
      reason: "bad_timestamp",
    });
  });

  it("reads a user log_format (nginx) and LogFormat (Apache)", () => {
    const custom = adapter({
      format: "nginx",
      logFormat:
        '$remote_addr [$time_local] $host "$request" $status $body_bytes_sent rt=$request_time ua="$http_user_agent"',
    });
    expect(
      event(
        custom.read(
          '203.0.113.5 [14/Mar/2026:05:00:00 +0000] api.example "GET /v1/x HTTP/2.0" 503 0 rt=0.250 ua="k6/0.49"',
          CONTEXT,
        ),
      ),
    ).toMatchObject({
      source_ip: "203.0.113.5",
      status_code: 503,
      service: "api.example",
      metrics: { latency_ms: 250 },
      http: { user_agent: "k6/0.49" },
    });
    const apache = adapter({ format: "apache", logFormat: '%h %l %u %t "%r" %>s %b %D "%{User-Agent}i"' });
    expect(
      event(
        apache.read(
          '192.0.2.8 - - [14/Mar/2026:05:00:00 +0000] "GET /a HTTP/1.1" 200 10 4500 "curl"',
          CONTEXT,
        ),
      ),
    ).toMatchObject({
      metrics: { latency_ms: 4.5 },
      http: { path: "/a" },
    });
    expect(compileLogFormat("$remote_addr $foo")).toContain("unknown variable $foo");
    expect(compileLogFormat("$remote_addr $request")).toContain("no status");
  });

  it("takes the first public address of a forwarded list, as Filebeat does", () => {
    expect(clientFromList("10.0.0.1, 192.168.0.2, 203.0.113.1, 198.51.100.2")).toBe("203.0.113.1");
    expect(clientFromList("10.0.0.1, 172.20.0.2")).toBe("10.0.0.1");
    expect(clientFromList("fd00::1, 2001:db8::9")).toBe("2001:db8::9");
    expect(clientFromList("-")).toBeNull();
  });
});

describe("http probing (crowdsec http-probing: capacity 10, leak 10 s, blackhole 5 min)", () => {
  const T0 = Date.UTC(2026, 2, 14, 5);
  const nginx = adapter({ format: "nginx" });
  const line = (ip: string, atMs: number, path: string, status: number) => {
    const date = new Date(T0 + atMs);
    const stamp = `14/Mar/2026:05:${String(date.getUTCMinutes()).padStart(2, "0")}:${String(date.getUTCSeconds()).padStart(2, "0")}.${String(date.getUTCMilliseconds()).padStart(3, "0")} +0000`;
    return event(nginx.read(`${ip} - - [${stamp}] "GET ${path} HTTP/1.1" ${status} 0 "-" "x"`, CONTEXT));
  };
  const run = (events: LogEvent[], endMs?: number) => {
    const detector = new HttpProbingDetector(DEFAULT_CONFIG.detectors.http_probing);
    const found = events.flatMap((e) => [...detector.observe(e)]);
    if (endMs !== undefined) found.push(...detector.advance(T0 + endMs));
    return found.map((f) => `${f.status} ${f.entity}`);
  };

  it("overflows on the 11th distinct failing path, once, and resolves after the blackhole", () => {
    const probes = Array.from({ length: 15 }, (_, i) =>
      line("203.0.113.66", i * 130, `/wp-admin/${i}.php`, 404),
    );
    expect(run(probes, 302_000)).toEqual(["firing 203.0.113.66", "resolved 203.0.113.66"]);
  });

  it("near misses stay quiet: 10 distinct paths, repeats of one path, static files, 200s, slow probing", () => {
    expect(run(Array.from({ length: 10 }, (_, i) => line("192.0.2.1", i * 100, `/a${i}`, 404)))).toEqual([]);
    expect(run(Array.from({ length: 30 }, (_, i) => line("192.0.2.2", i * 100, "/same", 404)))).toEqual([]);
    expect(
      run(Array.from({ length: 30 }, (_, i) => line("192.0.2.3", i * 100, `/img/${i}.png`, 404))),
    ).toEqual([]);
    expect(run(Array.from({ length: 30 }, (_, i) => line("192.0.2.4", i * 100, `/p${i}`, 200)))).toEqual([]);
    // One new path every 10 s leaks as fast as it fills.
    expect(
      run(Array.from({ length: 30 }, (_, i) => line("192.0.2.5", i * 10_000, `/slow${i}`, 404))),
    ).toEqual([]);
  });

  it("counts 403 and 400 too, per IP", () => {
    const mixed = Array.from({ length: 11 }, (_, i) =>
      line("192.0.2.9", i * 50, `/x${i}`, [400, 403, 404][i % 3] as number),
    );
    expect(run(mixed)).toEqual(["firing 192.0.2.9"]);
  });
});

describe("request flood", () => {
  const T0 = Date.UTC(2026, 2, 14, 5);
  const flood = { enabled: true, max_requests: 5, window_s: 10, severity: "warning" as const };
  function request(ip: string, timeMs: number, service = "shop"): LogEvent {
    return {
      timestamp: new Date(timeMs).toISOString(),
      timeMs,
      service,
      level: "INFO",
      event_type: "request",
      message: "GET /",
      metrics: { cpu_pct: null, memory_pct: null, latency_ms: null },
      status_code: 200,
      source_ip: ip,
      user: null,
      request_id: null,
    };
  }
  function trackedIps(detector: RequestFloodDetector): string[] {
    const state = detector.snapshot() as { states: { ip: string; service: string }[] };
    return state.states.map((s) => `${s.service}/${s.ip}`);
  }

  it("keeps IPs in order of last request and forgets one once its window is empty", () => {
    const detector = new RequestFloodDetector(flood);
    detector.observe(request("192.0.2.1", T0));
    detector.observe(request("192.0.2.2", T0 + 1_000));
    detector.observe(request("192.0.2.1", T0 + 2_000));
    detector.observe(request("192.0.2.1", T0 + 2_000, "api"));
    expect(trackedIps(detector)).toEqual(["shop/192.0.2.2", "shop/192.0.2.1", "api/192.0.2.1"]);
    // 192.0.2.2's only request (second 1) leaves the 10 s window at second 11.
    detector.advance(T0 + 11_000);
    expect(trackedIps(detector)).toEqual(["shop/192.0.2.1", "api/192.0.2.1"]);
    detector.advance(T0 + 12_000);
    expect(trackedIps(detector)).toEqual([]);
  });

  it("forgets an IP whose last request was too late to count, though it is not the least recently active", () => {
    const detector = new RequestFloodDetector(flood);
    detector.observe(request("192.0.2.1", T0));
    detector.observe(request("192.0.2.2", T0 + 5_000));
    // 13 s late at second 5: outside the window, not counted, but 192.0.2.1 is now the most recent.
    detector.observe(request("192.0.2.1", T0 - 8_000));
    expect(trackedIps(detector)).toEqual(["shop/192.0.2.2", "shop/192.0.2.1"]);
    // Its only counted request (second 0) leaves the window at second 10; 192.0.2.2's stays.
    detector.advance(T0 + 10_000);
    expect(trackedIps(detector)).toEqual(["shop/192.0.2.2"]);
  });

  it("at its key cap, a new IP takes the place of the least recently active one that is not firing", () => {
    const detector = new RequestFloodDetector(flood, 2);
    const found: string[] = [];
    for (let i = 0; i < 5; i++)
      for (const f of detector.observe(request("192.0.2.1", T0 + i * 10))) found.push(f.entity);
    detector.observe(request("192.0.2.2", T0 + 100));
    // 192.0.2.1 fires and is the least recently active, so 192.0.2.2 goes for 192.0.2.3.
    detector.observe(request("192.0.2.3", T0 + 200));
    expect(found).toEqual(["192.0.2.1"]);
    expect(trackedIps(detector)).toEqual(["shop/192.0.2.1", "shop/192.0.2.3"]);
  });

  it("counts a late request in its own second, and one older than the window not at all", () => {
    const detector = new RequestFloodDetector({ ...flood, max_requests: 3 });
    detector.observe(request("192.0.2.1", T0 + 20_000));
    detector.observe(request("192.0.2.1", T0 + 5_000)); // 15 s late: outside the 10 s window
    expect(detector.observe(request("192.0.2.1", T0 + 19_000)).map((f) => f.status)).toEqual([]);
    expect(detector.observe(request("192.0.2.1", T0 + 12_000)).map((f) => f.status)).toEqual(["firing"]);
    // At second 22 the window still holds seconds 19 and 20; at 29 only second 20, under half of 3.
    expect(detector.advance(T0 + 22_000).map((f) => f.status)).toEqual([]);
    expect(detector.advance(T0 + 29_000).map((f) => f.status)).toEqual(["resolved"]);
  });

  it("a snapshot taken mid-stream and restored gives the same findings and the same next snapshot", () => {
    const events: LogEvent[] = [];
    for (let i = 0; i < 400; i++) events.push(request(`192.0.2.${i % 7 === 0 ? 1 : i % 5}`, T0 + i * 150));
    const run = (restoreAt: number | null) => {
      let detector = new RequestFloodDetector(flood);
      const found: string[] = [];
      events.forEach((e, i) => {
        if (i === restoreAt) {
          const copy = new RequestFloodDetector(flood);
          copy.restore(JSON.parse(JSON.stringify(detector.snapshot())));
          detector = copy;
        }
        if (i % 9 === 0) for (const f of detector.advance(e.timeMs)) found.push(`${f.status} ${f.entity}`);
        for (const f of detector.observe(e)) found.push(`${f.status} ${f.entity} ${f.observed}`);
      });
      return { found, snapshot: detector.snapshot() };
    };
    const straight = run(null);
    expect(straight.found.length).toBeGreaterThan(2);
    for (const at of [57, 123, 250]) expect(run(at)).toEqual(straight);
  });

  it("fires at max_requests within the window and resolves when it halves", () => {
    const detector = new RequestFloodDetector({
      enabled: true,
      max_requests: 50,
      window_s: 10,
      severity: "warning",
    });
    const T0 = Date.UTC(2026, 2, 14, 5);
    const base: LogEvent = {
      timestamp: "",
      timeMs: 0,
      service: "shop",
      level: "INFO",
      event_type: "request",
      message: "GET /",
      metrics: { cpu_pct: null, memory_pct: null, latency_ms: null },
      status_code: 200,
      source_ip: "203.0.113.1",
      user: null,
      request_id: null,
    };
    const found: string[] = [];
    for (let i = 0; i < 60; i++) {
      const timeMs = T0 + i * 100;
      for (const f of detector.observe({ ...base, timeMs, timestamp: new Date(timeMs).toISOString() }))
        found.push(`${f.status}@${i}`);
    }
    for (const f of detector.advance(T0 + 30_000)) found.push(f.status);
    expect(found).toEqual(["firing@49", "resolved"]);
  });
});
