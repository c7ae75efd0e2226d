import { describe, expect, it } from "vitest";
import { createAdapter } from "../../../shared/ingest/index.js";
import type { IngestContext, IngestResult, LineAdapter } from "../../../shared/ingest/types.js";

const CONTEXT: IngestContext = { source: "/var/log/app/checkout.log", receivedMs: Date.UTC(2026, 2, 14, 12) };

function adapter(settings: Parameters<typeof createAdapter>[0]): LineAdapter {
  const built = createAdapter(settings);
  if (typeof built === "string") throw new Error(built);
  return built;
}

function event(result: IngestResult) {
  if (result.status !== "event") throw new Error(`expected an event, got ${JSON.stringify(result)}`);
  return result.event;
}

const NATIVE = JSON.stringify({
  timestamp: "2026-03-14T05:00:00.000Z",
  service: "checkout",
  level: "INFO",
  event_type: "request",
  message: "GET /cart 200",
  metrics: { cpu_pct: 41, memory_pct: 63, latency_ms: 12 },
  status_code: 200,
  source_ip: "10.0.0.7",
  user: null,
  request_id: "r1",
});
const POWERTOOLS =
  '{"level":"INFO","message":"order placed","timestamp":"2026-03-14T05:00:01.250Z","service":"orders","cold_start":true,"function_name":"orders-fn","function_memory_size":"256","function_arn":"arn:aws:lambda:eu-west-1:123456789012:function:orders-fn","function_request_id":"c6af9ac6-7b61-11e6-9a41-93e812345678","xray_trace_id":"1-5759e988-bd862e3fe1be46a994272793"}';
const POWERTOOLS_PY =
  '{"level":"ERROR","location":"handler:17","message":"payment declined","timestamp":"2026-03-14 05:00:02,100+0000","service":"payments","xray_trace_id":"1-5759e988-bd862e3fe1be46a994272794"}';
const ECS =
  '{"@timestamp":"2026-03-14T05:00:03.000Z","log.level":"warn","message":"slow upstream","ecs.version":"8.11.0","service.name":"gateway","http":{"response":{"status_code":504}},"event":{"duration":2500000000},"source":{"ip":"198.51.100.4"},"user":{"name":"ana"},"trace":{"id":"4bf92f3577b34da6a3ce929d0e0e4736"}}';
const OTEL =
  '{"timeUnixNano":"1773464404000000000","severityNumber":17,"severityText":"ERROR","body":"db timeout","resource":{"attributes":{"service.name":"inventory"}},"attributes":{"http.response.status_code":500},"traceId":"5b8efff798038103d269b633813fc60c"}';
const PINO =
  '{"level":30,"time":1773464405000,"pid":71,"hostname":"api-1","name":"api","msg":"request completed","res":{"statusCode":200},"responseTime":17}';
const BUNYAN =
  '{"name":"billing","hostname":"b-1","pid":9,"level":50,"msg":"invoice failed","time":"2026-03-14T05:00:06.000Z","v":0}';

describe("json: native schema and presets", () => {
  const json = adapter({ format: "json" });

  it("reads the project's own schema unchanged", () => {
    expect(event(json.read(NATIVE, CONTEXT))).toMatchObject({
      service: "checkout",
      metrics: { cpu_pct: 41 },
    });
  });

  it.each([
    [
      "Powertools (TypeScript)",
      POWERTOOLS,
      {
        service: "orders",
        level: "INFO",
        event_type: "request",
        timestamp: "2026-03-14T05:00:01.250Z",
        request_id: "1-5759e988-bd862e3fe1be46a994272793",
      },
    ],
    [
      "Powertools (Python time)",
      POWERTOOLS_PY,
      { service: "payments", level: "ERROR", event_type: "error", timestamp: "2026-03-14T05:00:02.100Z" },
    ],
    [
      "ECS",
      ECS,
      {
        service: "gateway",
        level: "WARN",
        status_code: 504,
        source_ip: "198.51.100.4",
        user: "ana",
        metrics: { latency_ms: 2500, cpu_pct: null },
      },
    ],
    [
      "OpenTelemetry",
      OTEL,
      {
        service: "inventory",
        level: "ERROR",
        status_code: 500,
        message: "db timeout",
        timestamp: "2026-03-14T05:00:04.000Z",
      },
    ],
    [
      "pino",
      PINO,
      {
        service: "api",
        level: "INFO",
        status_code: 200,
        metrics: { latency_ms: 17 },
        timestamp: "2026-03-14T05:00:05.000Z",
      },
    ],
    ["bunyan", BUNYAN, { service: "billing", level: "ERROR", message: "invoice failed" }],
  ])("detects %s", (_name, line, expected) => {
    expect(event(json.read(line, CONTEXT))).toMatchObject(expected);
  });

  it("leaves what a layout lacks missing: no invented CPU, memory or latency", () => {
    expect(event(json.read(POWERTOOLS, CONTEXT)).metrics).toEqual({
      cpu_pct: null,
      memory_pct: null,
      latency_ms: null,
    });
  });

  it("applies a user mapping: dotted paths, units, level numbers, constants", () => {
    const mapped = adapter({
      format: "json",
      mapping: {
        timestamp: { path: "ts", unit: "s" },
        service: { value: "edge" },
        level: { path: "sev", levels: "syslog" },
        message: "msg",
        status_code: "resp.code",
        latency_ms: { path: "resp.took_us", unit: "us" },
        cpu_pct: { path: "host.cpu", unit: "fraction" },
      },
    });
    const line =
      '{"ts":1773464407.5,"sev":3,"msg":"upstream failed","resp":{"code":502,"took_us":125000},"host":{"cpu":0.42}}';
    expect(event(mapped.read(line, CONTEXT))).toMatchObject({
      timestamp: "2026-03-14T05:00:07.500Z",
      service: "edge",
      level: "ERROR",
      event_type: "error",
      status_code: 502,
      metrics: { latency_ms: 125, cpu_pct: 42, memory_pct: null },
    });
  });

  it("refuses with a reason: no preset fits, two presets fit, a mapping path is missing", () => {
    expect(json.read('{"hello":"world"}', CONTEXT)).toMatchObject({
      status: "rejected",
      reason: "missing_field",
    });
    const both = '{"@timestamp":"2026-03-14T05:00:00Z","log.level":"info","timeUnixNano":"1","body":"x"}';
    expect(json.read(both, CONTEXT)).toMatchObject({ status: "rejected", reason: "ambiguous_format" });
    const strict = adapter({ format: "json", mapping: { timestamp: "when", message: "msg" } });
    expect(strict.read('{"msg":"no time"}', { source: "x" })).toMatchObject({
      status: "rejected",
      reason: "mapping_failed",
    });
  });

  it("refuses unknown presets and bad mappings when built", () => {
    expect(createAdapter({ format: "json", mapping: "log4j" })).toContain("unknown mapping preset");
    expect(createAdapter({ format: "json", mapping: { timestamp: { unit: "days" } } })).toContain(
      "unit must be one of",
    );
  });
});

describe("container wrappers", () => {
  it("unwraps Docker json-file and CRI lines, then reads the inner line", () => {
    const json = adapter({ format: "auto" });
    const docker = JSON.stringify({
      log: `${POWERTOOLS}\n`,
      stream: "stdout",
      time: "2026-03-14T05:00:01.300Z",
    });
    expect(event(json.read(docker, CONTEXT))).toMatchObject({ service: "orders" });
    const cri = `2026-03-14T05:00:09.123456789Z stdout F ${NATIVE}`;
    expect(event(json.read(cri, CONTEXT))).toMatchObject({ service: "checkout" });
  });

  it("joins CRI partial lines", () => {
    const auto = adapter({ format: "auto" });
    const half = Math.floor(NATIVE.length / 2);
    expect(auto.read(`2026-03-14T05:00:09Z stdout P ${NATIVE.slice(0, half)}`, CONTEXT)).toEqual({
      status: "skipped",
      reason: "container_partial_line",
    });
    expect(event(auto.read(`2026-03-14T05:00:09Z stdout F ${NATIVE.slice(half)}`, CONTEXT)).service).toBe(
      "checkout",
    );
  });

  it("a Docker line without its own time in the inner text takes the wrapper's time", () => {
    const lambda = adapter({ format: "lambda" });
    const docker = JSON.stringify({
      log: "REPORT RequestId: 3f2e\tDuration: 12.5 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 64 MB\t\n",
      stream: "stdout",
      time: "2026-03-14T05:00:10.000Z",
    });
    expect(event(lambda.read(docker, CONTEXT)).timestamp).toBe("2026-03-14T05:00:10.000Z");
  });
});

const LAMBDA_LOG = [
  "START RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95 Version: $LATEST",
  POWERTOOLS,
  '2026-03-14T05:00:01.400Z\t8f507cfc-xmpl-4697-b07a-ac58fc914c95\tERROR\tInvoke Error\t{"errorType":"Error"}',
  "END RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95",
  "REPORT RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95\tDuration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 256 MB\tMax Memory Used: 96 MB\tInit Duration: 180.61 ms\t",
  '{"_aws":{"Timestamp":1773464402000,"CloudWatchMetrics":[{"Namespace":"shop","Dimensions":[["service"]],"Metrics":[{"Name":"OrdersPlaced","Unit":"Count"},{"Name":"CartValue","Unit":"None"}]}]},"service":"orders","OrdersPlaced":1,"CartValue":[41.5,12]}',
  '{"time":"2026-03-14T05:00:03.000Z","type":"platform.report","record":{"requestId":"a1","metrics":{"durationMs":3000.5,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":128},"status":"timeout"}}',
  '{"time":"2026-03-14T05:00:03.000Z","type":"platform.start","record":{"requestId":"a1","version":"$LATEST"}}',
];

describe("lambda: platform lines, runtime lines, EMF", () => {
  it("reads a function's log group line by line", () => {
    const lambda = adapter({ format: "lambda" });
    const context = { source: "/aws/lambda/orders-fn", receivedMs: Date.UTC(2026, 2, 14, 12) };
    const results = LAMBDA_LOG.map((line) => lambda.read(line, context));
    expect(
      results.map((r) =>
        r.status === "event"
          ? r.event.event_type
          : r.status === "skipped"
            ? `skip:${r.reason}`
            : `reject:${r.reason}`,
      ),
    ).toEqual([
      "skip:lambda_start",
      "request",
      "error",
      "skip:lambda_end",
      "request",
      "metric",
      "error",
      "skip:lambda_start",
    ]);
    const report = event(results[4] as IngestResult);
    expect(report).toMatchObject({
      service: "orders-fn",
      request_id: "8f507cfc-xmpl-4697-b07a-ac58fc914c95",
      metrics: { latency_ms: 102.25, memory_pct: 37.5, cpu_pct: null },
      // A REPORT line carries no time of its own: it takes the last one the group showed.
      timestamp: "2026-03-14T05:00:01.400Z",
    });
    expect(report.measurements).toContainEqual({
      name: "init_duration",
      value: 180.61,
      unit: "Milliseconds",
    });
    const emf = event(results[5] as IngestResult);
    expect(emf.service).toBe("orders");
    expect(emf.measurements).toEqual([
      { name: "OrdersPlaced", value: 1, unit: "Count" },
      { name: "CartValue", value: 41.5, unit: "None" },
      { name: "CartValue", value: 12, unit: "None" },
    ]);
  });

  it("refuses a REPORT line it cannot read", () => {
    const lambda = adapter({ format: "lambda" });
    expect(lambda.read("REPORT RequestId: x Duration: fast", CONTEXT)).toMatchObject({
      status: "rejected",
      reason: "bad_lambda_line",
    });
  });
});

describe("metric-csv", () => {
  it("reads the NAB layout: header skipped, rows as metric events in the given zone", () => {
    const csv = adapter({ format: "metric-csv", timezone: "+01:00" });
    const context = { source: "data/realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv" };
    expect(csv.read("timestamp,value", context)).toEqual({ status: "skipped", reason: "csv_header" });
    expect(event(csv.read("2014-02-14 14:27:00,51.846", context))).toMatchObject({
      timestamp: "2014-02-14T13:27:00.000Z",
      event_type: "metric",
      service: "ec2_cpu_utilization_5f5533",
      measurements: [{ name: "ec2_cpu_utilization_5f5533", value: 51.846, unit: null }],
      metrics: { cpu_pct: null },
    });
    expect(csv.read("2014-02-14 14:27:00,lots", context)).toMatchObject({
      status: "rejected",
      reason: "bad_metric_csv",
    });
  });

  it("--metric-field makes the series a CPU (or memory) reading the rules and ML features watch", () => {
    const csv = adapter({ format: "metric-csv", metricField: "cpu_pct" });
    const context = { source: "ec2_cpu_utilization.csv" };
    expect(event(csv.read("2014-02-14 14:27:00,51.846", context)).metrics).toEqual({
      cpu_pct: 51.846,
      memory_pct: null,
      latency_ms: null,
    });
    // A value outside 0..100 is no percentage: kept as the measurement only.
    expect(event(csv.read("2014-02-14 14:32:00,180", context)).metrics.cpu_pct).toBeNull();
    expect(createAdapter({ format: "metric-csv", metricField: "latency" })).toContain("unknown metric field");
  });
});

describe("auto: a mixed file", () => {
  it("reads Powertools JSON, START/END/REPORT, Docker-wrapped JSON and the native schema with no rejection", () => {
    const auto = adapter({ format: "auto" });
    const lines = [
      ...LAMBDA_LOG,
      JSON.stringify({ log: `${PINO}\n`, stream: "stderr", time: "2026-03-14T05:00:05.100Z" }),
      JSON.stringify({ log: `${NATIVE}\n`, stream: "stdout", time: "2026-03-14T05:00:05.200Z" }),
      NATIVE,
      POWERTOOLS_PY,
      ECS,
      OTEL,
      BUNYAN,
    ];
    const results = lines.map((line) => auto.read(line, { source: "/aws/lambda/orders-fn" }));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(results.filter((r) => r.status === "event").length).toBe(lines.length - 3);
  });

  it("reads access log, sshd and metric rows, and refuses what nothing recognises", () => {
    const auto = adapter({ format: "auto" });
    const kinds = [
      '203.0.113.7 - - [14/Mar/2026:05:00:00 +0000] "GET /index.html HTTP/1.1" 200 512 "-" "curl/8.5.0"',
      "Mar 14 05:00:00 web1 sshd[77]: Failed password for root from 198.51.100.3 port 2222 ssh2",
      "2026-03-14 05:00:00,17.5",
      "this is not a log line",
      // A syslog line that happens to end in ",number" is not a metric row.
      "Mar 14 05:00:00 web1 kernel: eth0 link speed,1000",
    ].map((line) => auto.read(line, CONTEXT));
    expect(kinds.map((r) => (r.status === "event" ? r.event.origin : r.status))).toEqual([
      "nginx",
      "sshd",
      "metric-csv",
      "rejected",
      "skipped",
    ]);
    expect(kinds[3]).toMatchObject({ reason: "unrecognised_line" });
  });
});
