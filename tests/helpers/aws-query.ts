/**
 * Just enough of the EC2, CloudWatch, EventBridge and Lambda APIs to inspect what Terraform created
 * in moto_server. The project ships no SDK for them; moto does not check signatures, only the
 * credential scope (which names the service), so a fixed Authorization header is enough.
 */
import { MOTO_REGION } from "./moto.js";

function authorization(service: string): string {
  return `AWS4-HMAC-SHA256 Credential=test/20260101/${MOTO_REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`;
}

/** A Query API call (form-encoded POST, XML answer); throws on an HTTP error. */
async function queryApi(
  endpoint: string,
  service: string,
  version: string,
  action: string,
  params: Record<string, string>,
): Promise<string> {
  const body = new URLSearchParams({ Action: action, Version: version, ...params });
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: authorization(service) },
    body: body.toString(),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${service} ${action} failed: ${response.status} ${text}`);
  return text;
}

/** An EC2 Query API call; returns the XML body. */
export async function ec2Query(endpoint: string, action: string, params: Record<string, string> = {}) {
  return await queryApi(endpoint, "ec2", "2016-11-15", action, params);
}

/** A CloudWatch (metrics, alarms, dashboards) Query API call; returns the XML body. */
export async function cloudWatchQuery(endpoint: string, action: string, params: Record<string, string> = {}) {
  return await queryApi(endpoint, "monitoring", "2010-08-01", action, params);
}

/** A Lambda REST call (GET); returns the parsed JSON body, throws on an HTTP error. */
export async function lambdaGet(endpoint: string, path: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${endpoint.replace(/\/$/, "")}${path}`, {
    headers: { authorization: authorization("lambda") },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`Lambda GET ${path} failed: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** An EventBridge (JSON protocol) call such as ListTargetsByRule; returns the parsed body. */
export async function eventsCall(
  endpoint: string,
  action: string,
  params: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSEvents.${action}`,
      authorization: authorization("events"),
    },
    body: JSON.stringify(params),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`EventBridge ${action} failed: ${response.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Text of every `<tag>...</tag>` in `xml` (non-greedy, so nested same-name tags are not supported). */
export function xmlValues(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g");
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? "");
}

/** The `<item>` blocks directly inside the first `<container>` element. */
export function xmlItems(xml: string, container: string): string[] {
  const inner = xmlValues(xml, container)[0] ?? "";
  const items: string[] = [];
  let depth = 0;
  let start = -1;
  for (const match of inner.matchAll(/<(\/?)item>/g)) {
    if (match[1] === "") {
      if (depth === 0) start = (match.index ?? 0) + match[0].length;
      depth += 1;
    } else {
      depth -= 1;
      if (depth === 0 && start >= 0) items.push(inner.slice(start, match.index));
    }
  }
  return items;
}
