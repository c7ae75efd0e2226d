import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../shared/config/load.js";
import { logGroupMatches, SourceReader } from "../../../shared/ingest/sources.js";

const T = Date.UTC(2026, 2, 14, 5);

describe("processor sources", () => {
  it("matches log group patterns with * and picks the first source that fits", () => {
    expect(logGroupMatches("/aws/lambda/*", "/aws/lambda/orders")).toBe(true);
    expect(logGroupMatches("/aws/lambda/*", "/aws/lambdax")).toBe(false);
    expect(logGroupMatches("/web/nginx.access", "/web/nginxXaccess")).toBe(false);
    const reader = new SourceReader([
      { log_group: "/hosts/*", format: "sshd" },
      { log_group: "*", format: "nginx", service: "edge" },
    ]);
    expect(reader.sourceFor("/hosts/auth")?.format).toBe("sshd");
    expect(reader.sourceFor("/anything")?.service).toBe("edge");
  });

  it("reads each group in its format; a group no source names is read with auto", () => {
    const reader = new SourceReader([{ log_group: "/hosts/auth", format: "sshd", service: "ssh" }]);
    const sshd = reader.read(
      "Mar 14 05:00:00 h sshd[1]: Invalid user x from 192.0.2.1 port 2",
      "/hosts/auth",
      "s",
      T,
    );
    expect(sshd).toMatchObject({ status: "event", event: { service: "ssh", source_ip: "192.0.2.1" } });
    const report = reader.read(
      "REPORT RequestId: a1\tDuration: 5.0 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\tMax Memory Used: 32 MB\t",
      "/aws/lambda/orders",
      "s",
      T,
    );
    // REPORT carries no time: the CloudWatch event's own timestamp is used.
    expect(report).toMatchObject({
      status: "event",
      event: { service: "orders", timestamp: "2026-03-14T05:00:00.000Z" },
    });
  });

  it("keeps an sshd connection's memory across snapshot and restore (a cold start)", () => {
    const sources = [{ log_group: "/hosts/auth", format: "sshd" as const }];
    const first = new SourceReader(sources);
    first.read(
      "Mar 14 05:00:00 h sshd[7]: Connection from 192.0.2.5 port 1 on 10.0.0.1 port 22",
      "/hosts/auth",
      "s",
      T,
    );
    const second = new SourceReader(sources);
    second.restore(JSON.parse(JSON.stringify(first.snapshot())));
    const locked = second.read(
      "Mar 14 05:00:01 h sshd[7]: User root not allowed because account is locked",
      "/hosts/auth",
      "s",
      T,
    );
    expect(locked).toMatchObject({
      status: "event",
      event: { event_type: "auth_failure", source_ip: "192.0.2.5" },
    });
  });

  it("refuses a config whose sources cannot be read", () => {
    const result = parseConfig(
      JSON.stringify({
        sources: [
          { log_group: "/a", format: "syslog" },
          { log_group: "/b", format: "json", mapping: "log4j" },
        ],
      }),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => e.path)).toEqual(["sources[0].format", "sources"]);
      expect(result.errors[1]?.message).toContain("unknown mapping preset");
    }
  });
});
