/**
 * One SSM call, GetParameter, without the SSM client. The processor reads one parameter (the Slack
 * webhook URL) once per cold start; `@aws-sdk/client-ssm` would add about 75 KiB to its bundle for
 * that. The request is a SigV4-signed JSON POST with the signer and the credential chain the other
 * clients already bundle, so it costs a few hundred bytes.
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentityProvider, Checksum, SourceData } from "@smithy/types";
import type { AwsClientSettings } from "./client.js";
import { defaultProvider } from "./credentials.js";

/** Reads one parameter's value (decrypted); undefined when the parameter holds no value. */
export type ParameterReader = (name: string) => Promise<string | undefined>;

/** A cold start waits at most this long for the parameter; a failed read is retried on the next invocation. */
const READ_TIMEOUT_MS = 5_000;

/** SHA-256 (or HMAC-SHA-256 with a secret) in the shape the signer takes. */
class NodeSha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    if (this.secret === undefined) return createHash("sha256");
    const key = typeof this.secret === "string" ? this.secret : Buffer.from(this.secret as Uint8Array);
    return createHmac("sha256", key);
  }
}

export function createParameterReader(
  settings: AwsClientSettings,
  credentials: AwsCredentialIdentityProvider = defaultProvider(),
): ParameterReader {
  const endpoint = new URL(settings.endpoint ?? `https://ssm.${settings.region}.amazonaws.com`);
  const signer = new SignatureV4({
    credentials,
    region: settings.region,
    service: "ssm",
    sha256: NodeSha256,
  });
  return async (name) => {
    const body = JSON.stringify({ Name: name, WithDecryption: true });
    const signed = await signer.sign({
      method: "POST",
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port === "" ? undefined : Number(endpoint.port),
      path: endpoint.pathname,
      query: {},
      headers: {
        host: endpoint.host,
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonSSM.GetParameter",
      },
      body,
    });
    const response = await fetch(endpoint, {
      method: "POST",
      headers: signed.headers,
      body,
      signal: AbortSignal.timeout(READ_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) {
      // The error body names the type (ParameterNotFound, AccessDeniedException), never the value.
      throw new Error(`SSM GetParameter ${name} failed: HTTP ${response.status} ${text.slice(0, 200)}`);
    }
    const parsed = JSON.parse(text) as { Parameter?: { Value?: unknown } };
    const value = parsed.Parameter?.Value;
    return typeof value === "string" ? value : undefined;
  };
}
