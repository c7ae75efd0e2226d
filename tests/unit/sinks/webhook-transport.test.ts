import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeWebhookTransport } from "../../../local/sinks/configured.js";
import { SettingsError } from "../../../shared/errors.js";
import { checkWebhookUrl, WebhookSink } from "../../../shared/sinks/webhook.js";
import { notification, startServer, type TestServer } from "./fixtures.js";

describe("webhook redirects", () => {
  let receiver: TestServer;
  let elsewhere: TestServer;
  beforeAll(async () => {
    receiver = await startServer();
    elsewhere = await startServer();
  });
  afterAll(async () => {
    await receiver.close();
    await elsewhere.close();
  });

  it.each([301, 302, 303, 307, 308])(
    "HTTP %i is an error, and the alert is never re-sent to the Location",
    async (code) => {
      receiver.requests.length = 0;
      elsewhere.requests.length = 0;
      receiver.respondWith = code;
      receiver.respondHeaders = { location: elsewhere.url };
      const result = await new WebhookSink(receiver.url, {
        transport: { ...nodeWebhookTransport, sleep: async () => {} },
        attempts: 3,
      }).send(notification());
      expect(result.status).toBe("error");
      expect(result).toMatchObject({ error: expect.stringContaining(`redirect (HTTP ${code})`) });
      expect(receiver.requests).toHaveLength(1);
      expect(elsewhere.requests).toHaveLength(0);
    },
  );
});

describe("webhook URL check", () => {
  it.each([
    "https://hooks.slack.com/services/T000/B000/XXXX",
    "https://example.com:8443/hook",
    "http://127.0.0.1:8080/hook",
    "http://127.1.2.3/hook",
    "http://localhost:3000/hook",
    "http://[::1]:3000/hook",
  ])("accepts %s", (url) => {
    expect(checkWebhookUrl(url)).toBeNull();
    expect(
      () =>
        new WebhookSink(url, {
          transport: nodeWebhookTransport,
        }),
    ).not.toThrow();
  });

  it.each([
    ["plain http to another host", "http://hooks.example.com/hook", "https"],
    ["http to a host that only starts like loopback", "http://127.0.0.1.evil.example/hook", "https"],
    ["http to localhost as a subdomain", "http://localhost.evil.example/hook", "https"],
    ["another scheme", "file:///etc/passwd", "https"],
    ["ftp", "ftp://example.com/x", "https"],
    ["not a URL", "hooks.slack.com/services/x", "not a valid URL"],
    ["credentials in the URL", "https://user:pass@example.com/hook", "credentials"],
  ])("refuses %s", (_name, url, why) => {
    expect(checkWebhookUrl(url)).toContain(why);
    expect(
      () =>
        new WebhookSink(url, {
          transport: nodeWebhookTransport,
        }),
    ).toThrow(SettingsError);
  });
});
