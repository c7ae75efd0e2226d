import { describe, expect, it } from "vitest";
import { createAdapter, FORMATS } from "../../../shared/ingest/index.js";
import type { IngestResult } from "../../../shared/ingest/types.js";
import { EVENT_TYPES, LOG_LEVELS, REJECT_REASONS } from "../../../shared/log/schema.js";
import { Rng } from "../../../shared/random.js";

/** Realistic lines of every format: the property test mutates and splices them. */
const SEEDS = [
  '{"timestamp":"2026-03-14T05:00:00.000Z","service":"checkout","level":"INFO","event_type":"request","message":"GET /cart 200","metrics":{"cpu_pct":41,"memory_pct":63,"latency_ms":12},"status_code":200,"source_ip":"10.0.0.7","user":null,"request_id":"r1"}',
  '{"level":"INFO","message":"order placed","timestamp":"2026-03-14T05:00:01.250Z","service":"orders","cold_start":true}',
  '{"@timestamp":"2026-03-14T05:00:03.000Z","log.level":"warn","message":"slow","service.name":"gw","event":{"duration":2500000000}}',
  '{"timeUnixNano":"1773464404000000000","severityNumber":17,"body":"db timeout"}',
  '{"level":30,"time":1773464405000,"msg":"done","res":{"statusCode":200}}',
  '{"log":"{\\"level\\":\\"INFO\\",\\"message\\":\\"x\\",\\"timestamp\\":\\"2026-03-14T05:00:00Z\\",\\"service\\":\\"s\\"}\\n","stream":"stdout","time":"2026-03-14T05:00:01Z"}',
  "2026-03-14T05:00:09.123456789Z stdout F hello",
  "2026-03-14T05:00:09.123456789Z stdout P part",
  "START RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95 Version: $LATEST",
  "REPORT RequestId: 8f507cfc\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 256 MB\tMax Memory Used: 96 MB\t",
  '{"_aws":{"Timestamp":1773464402000,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["service"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"service":"s","M":1}',
  '{"time":"2026-03-14T05:00:03.000Z","type":"platform.report","record":{"requestId":"a1","metrics":{"durationMs":3}}}',
  '203.0.113.7 - frank [14/Mar/2026:05:00:00 +0000] "GET /index.html?q=1 HTTP/1.1" 404 512 "-" "curl/8.5.0" "198.51.100.1, 10.0.0.1" 0.012',
  'example.com:443 10.0.0.1, 203.0.113.9 - - [14/Mar/2026:05:00:00 -0700] "\\x16\\x03\\x01" 400 0 "-" "-"',
  "Mar 14 03:11:02 web1 sshd[20112]: Failed password for invalid user admin from ::ffff:203.0.113.9 port 51122 ssh2",
  "Mar 14 04:02:01 web1 sshd[3003]: error: Disconnecting: Too many authentication failures for git [preauth]",
  '<38>1 2026-03-14T05:00:01.000Z web1 sshd 5002 - [meta x="1"] Accepted publickey for pi from 2001:db8::1 port 2 ssh2',
  "sshd[5003]: Connection closed by authenticating user root 192.0.2.33 port 3 [preauth]",
  "timestamp,value",
  "2014-02-14 14:27:00,51.846",
];

const NOISE = [
  '"',
  "{",
  "}",
  "[",
  "]",
  "\\",
  ":",
  ",",
  " ",
  "\t",
  "\u0000",
  "\u00e9",
  "\ud83d\ude00",
  "\ud800",
  "from ",
  " port ",
  "-",
  "9",
  ".",
];

function mutate(rng: Rng, line: string): string {
  let out = line;
  const edits = 1 + rng.int(4);
  for (let i = 0; i < edits; i++) {
    const at = rng.int(out.length + 1);
    switch (rng.int(5)) {
      case 0:
        out = out.slice(0, at);
        break;
      case 1:
        out = out.slice(0, at) + rng.pick(NOISE) + out.slice(at);
        break;
      case 2:
        out = out.slice(0, at) + out.slice(at + 1 + rng.int(8));
        break;
      case 3:
        out = out.slice(0, at) + rng.pick(SEEDS).slice(rng.int(40));
        break;
      default:
        out = out.slice(0, at) + String.fromCharCode(rng.int(0x3000)) + out.slice(at);
    }
  }
  return out;
}

/**
 * What is wrong with one result, or null. Plain checks rather than expect() per line: 14,000 lines
 * times a dozen matchers spent most of the test in the assertion library; the first few problems
 * are reported with their lines instead.
 */
function shapeProblem(result: IngestResult): string | null {
  if (result.status === "rejected") {
    if (!(REJECT_REASONS as readonly string[]).includes(result.reason))
      return `unknown reason ${result.reason}`;
    if (result.detail.length === 0) return "rejected without a detail";
    return null;
  }
  if (result.status === "skipped") return result.reason.length > 0 ? null : "skipped without a reason";
  if (result.status !== "event") return `unknown status ${(result as { status: unknown }).status}`;
  const e = result.event;
  if (!Number.isFinite(e.timeMs)) return `timeMs ${e.timeMs}`;
  if (!(EVENT_TYPES as readonly string[]).includes(e.event_type)) return `event_type ${e.event_type}`;
  if (!(LOG_LEVELS as readonly string[]).includes(e.level)) return `level ${e.level}`;
  if (typeof e.service !== "string") return `service ${typeof e.service}`;
  for (const value of [e.metrics.cpu_pct, e.metrics.memory_pct, e.metrics.latency_ms]) {
    if (!(value === null || Number.isFinite(value))) return `metric ${value}`;
  }
  try {
    JSON.stringify(e);
  } catch (error) {
    return `event does not serialise: ${error}`;
  }
  return null;
}

describe("every adapter: any line gives an event, a skip or a reason, never a throw", () => {
  it.each(FORMATS.map((format) => [format]))("%s", (format) => {
    const built = createAdapter({ format });
    if (typeof built === "string") throw new Error(built);
    const rng = new Rng(2026 + format.length);
    const problems: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const line =
        i % 10 === 0
          ? Array.from({ length: rng.int(200) }, () => String.fromCharCode(rng.int(0x10000))).join("")
          : mutate(rng, rng.pick(SEEDS));
      let problem: string | null;
      try {
        problem = shapeProblem(
          built.read(line, { source: "/var/log/mixed.log", receivedMs: Date.UTC(2026, 2, 14) }),
        );
      } catch (error) {
        problem = `threw ${error}`;
      }
      if (problem !== null && problems.length < 5) problems.push(`${problem} on ${JSON.stringify(line)}`);
    }
    expect(problems).toEqual([]);
    // State survives a JSON round trip whatever the input did to it.
    expect(() => built.restore(JSON.parse(JSON.stringify(built.snapshot())))).not.toThrow();
  });
});
