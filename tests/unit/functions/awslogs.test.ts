import { gzipSync } from "node:zlib";
import type { CloudWatchLogsDecodedData } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { decodeAwsLogsEvent, encodeAwsLogsEvent } from "../../../functions/aws/awslogs.js";
import { kitJson } from "./fixtures.js";

const b64 = (text: string) => gzipSync(Buffer.from(text)).toString("base64");

describe("decodeAwsLogsEvent", () => {
  it("sets an event without a message aside instead of refusing the payload", () => {
    const result = decodeAwsLogsEvent({
      awslogs: { data: b64('{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1"}]}') },
    });
    expect(result).toMatchObject({
      ok: true,
      data: { logEvents: [] },
      invalidEvents: [{ index: 0, id: "1", detail: "logEvents[0].message is missing, not a string" }],
    });
  });

  it("decodes the real subscription payload from aws-lambda-go to its published decoded form", () => {
    const event = kitJson("data/aws-events/aws-lambda-go__cloudwatch-logs-event.json");
    const expected = kitJson<CloudWatchLogsDecodedData>(
      "data/aws-events/aws-lambda-go__cloudwatch-logs-event.decoded.json",
    );
    const result = decodeAwsLogsEvent(event);
    expect(result).toEqual({ ok: true, data: expected, invalidEvents: [] });
  });

  it("round-trips what encodeAwsLogsEvent builds (the shape AWS sends)", () => {
    const data: CloudWatchLogsDecodedData = {
      owner: "123456789012",
      logGroup: "/app/logs",
      logStream: "s1",
      subscriptionFilters: ["all"],
      messageType: "DATA_MESSAGE",
      logEvents: [{ id: "1", timestamp: 1, message: '{"a":1}' }],
    };
    expect(decodeAwsLogsEvent(encodeAwsLogsEvent(data))).toEqual({ ok: true, data, invalidEvents: [] });
  });

  it.each([
    ["no awslogs", {}, "missing_data"],
    ["null event", null, "missing_data"],
    ["data not a string", { awslogs: { data: 42 } }, "missing_data"],
    ["not base64", { awslogs: { data: "%%%not base64%%%" } }, "bad_base64"],
    ["base64 of plain text", { awslogs: { data: Buffer.from("hello").toString("base64") } }, "bad_gzip"],
    [
      "truncated gzip",
      {
        awslogs: {
          data: gzipSync(Buffer.from("{}".repeat(100)))
            .subarray(0, 20)
            .toString("base64"),
        },
      },
      "bad_gzip",
    ],
    ["gzip of non-JSON", { awslogs: { data: b64("not json") } }, "malformed_json"],
    ["JSON array", { awslogs: { data: b64("[]") } }, "bad_shape"],
    ["unknown messageType", { awslogs: { data: b64('{"messageType":"X","logEvents":[]}') } }, "bad_shape"],
  ])("refuses %s with reason %s, never throwing", (_label, event, reason) => {
    const result = decodeAwsLogsEvent(event);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.detail.length).toBeGreaterThan(0);
    }
  });
});
