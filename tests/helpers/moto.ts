/**
 * moto_server as a test fixture: the real AWS SDK talks HTTP to a local emulator, so the wire
 * path (serialisation, errors, retries) is exercised, not a client mock.
 *
 *   const moto = await startMoto();        // null when moto_server is missing (and REQUIRE_TOOLS unset)
 *   moto.env                                // AWS_ENDPOINT_URL, region, test credentials
 *   await moto.reset();                     // between tests
 *   await moto.stop();
 *
 * In the fast suite one moto_server serves every file (tests/support/moto-global.ts starts it; a
 * start costs about 1.3 s of CPU). Each file, and each reset, gets an AWS account of its own: moto
 * keeps every account's resources apart and picks the account by the request's access key, so
 * files running side by side never see or reset each other's tables, topics and queues. Elsewhere
 * (e2e) every file starts its own server, as before.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";

export interface Moto {
  endpoint: string;
  port: number;
  /** Environment for handlers and SDK clients pointed at this server. */
  env: Record<string, string>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export const MOTO_REGION = "us-east-1";

/** Whether moto_server is on the PATH. */
export function motoAvailable(): boolean {
  // The shared server is proof enough; `moto_server --help` costs half a second of CPU per file.
  if (sharedEndpoint() !== undefined) return true;
  return spawnSync("moto_server", ["--help"], { stdio: "ignore" }).status === 0;
}

/**
 * Whether a suite needing `tool` should run. Missing tool: skip with a printed reason, unless
 * REQUIRE_TOOLS=1 (CI), where a missing tool must fail the run instead of passing silently.
 */
export function toolGate(tool: string, available: boolean): boolean {
  if (available) return true;
  if (process.env.REQUIRE_TOOLS === "1") {
    throw new Error(`${tool} is required (REQUIRE_TOOLS=1) but was not found on the PATH`);
  }
  console.warn(
    `skipping: ${tool} not found on the PATH (install it, or set REQUIRE_TOOLS=1 to make this fail)`,
  );
  return false;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

declare module "vitest" {
  export interface ProvidedContext {
    /** The fast suite's shared moto_server (tests/support/moto-global.ts); absent elsewhere. */
    sharedMotoEndpoint?: string;
  }
}

/** The access key of the current file's account on the shared server; "test" otherwise. */
let accessKeyId = "test";
let accounts = 0;

function sharedEndpoint(): string | undefined {
  try {
    return inject("sharedMotoEndpoint");
  } catch {
    // Not inside a vitest worker (a bench or a script).
    return undefined;
  }
}

async function waitUntilAnswering(endpoint: string, exited: () => string | null): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const problem = exited();
    if (problem !== null) throw new Error(problem);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint} within 60 s`);
    await sleep(150);
  }
}

async function configure(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/config`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ lambda: { use_docker: false } }),
  });
  if (!response.ok) throw new Error(`moto config failed: ${response.status}`);
}

/**
 * A fresh, empty account on a shared server: an IAM user with an access key, created in an account
 * id of this worker's own (moto takes the account from the x-moto-account-id header here, and from
 * the access key on every later request).
 */
async function newAccount(endpoint: string): Promise<string> {
  accounts++;
  const account = String(100_000_000_000 + (process.pid % 1_000_000) * 1000 + accounts).slice(-12);
  const call = async (params: Record<string, string>) => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-moto-account-id": account,
        authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${MOTO_REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: new URLSearchParams({ Version: "2010-05-08", UserName: "tests", ...params }).toString(),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`moto IAM ${params.Action} failed: ${response.status} ${text}`);
    return text;
  };
  await call({ Action: "CreateUser" });
  const key = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(await call({ Action: "CreateAccessKey" }))?.[1];
  if (key === undefined) throw new Error("moto IAM CreateAccessKey returned no key");
  return key;
}

/** Point the SDK's default credentials (and `env`) at `key`. */
function useAccount(key: string, env: Record<string, string>): void {
  accessKeyId = key;
  env.AWS_ACCESS_KEY_ID = key;
  process.env.AWS_ACCESS_KEY_ID = key;
  process.env.AWS_SECRET_ACCESS_KEY = "test";
}

async function attachShared(endpoint: string): Promise<Moto> {
  await readyMoto(endpoint);
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  useAccount(await newAccount(endpoint), env);
  return {
    endpoint,
    port: Number(new URL(endpoint).port),
    env,
    // Another file may be using the server: move to a new empty account instead of wiping it.
    async reset() {
      useAccount(await newAccount(endpoint), env);
    },
    async stop() {
      accessKeyId = "test";
      process.env.AWS_ACCESS_KEY_ID = "test";
    },
  };
}

/** Spawn a moto_server on a free port; `stop` ends it. Used by the fast suite's global setup. */
export async function spawnMoto(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn("moto_server", ["-p", String(port), "-H", "127.0.0.1"], {
    stdio: ["ignore", "ignore", "ignore"],
  });
  running.add(child);
  installExitHook();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    endpoint,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    },
  };
}

/** Wait until a server from `spawnMoto` answers and configure it. */
export async function readyMoto(endpoint: string): Promise<void> {
  await waitUntilAnswering(endpoint, () => null);
  await configure(endpoint);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave emulators behind.
  process.on("exit", () => {
    for (const c of running) c.kill("SIGKILL");
  });
}

export async function startMoto(): Promise<Moto> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const shared = sharedEndpoint();
  if (shared !== undefined) return await attachShared(shared);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn("moto_server", ["-p", String(port), "-H", "127.0.0.1"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  running.add(child);
  installExitHook();
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  try {
    await waitUntilAnswering(endpoint, () =>
      child.exitCode !== null ? `moto_server exited with ${child.exitCode}: ${stderr}` : null,
    );
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}: ${stderr}`);
  }
  await configure(endpoint);

  return {
    endpoint,
    port,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: MOTO_REGION,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
      if (!response.ok) throw new Error(`moto reset failed: ${response.status}`);
      await configure(endpoint);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    },
  };
}

/** The SDK reads credentials from the environment; the handlers get the rest through their env object. */
export function useTestCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = "test";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
}

/**
 * A minimal SQS client over the JSON protocol (the project ships no SQS SDK, and tests only need a
 * queue to receive what SNS delivers).
 */
export class SqsTestClient {
  constructor(private readonly endpoint: string) {}

  private async call<T>(action: string, body: Record<string, unknown>): Promise<T> {
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `AmazonSQS.${action}`,
        // The access key names the account (the current file's, on the shared server).
        authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20240101/${MOTO_REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`SQS ${action} failed: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async createQueue(name: string): Promise<{ url: string; arn: string }> {
    const { QueueUrl } = await this.call<{ QueueUrl: string }>("CreateQueue", { QueueName: name });
    const { Attributes } = await this.call<{ Attributes: Record<string, string> }>("GetQueueAttributes", {
      QueueUrl,
      AttributeNames: ["QueueArn"],
    });
    return { url: QueueUrl, arn: Attributes.QueueArn ?? "" };
  }

  async receive(queueUrl: string, max = 10): Promise<{ Body: string; ReceiptHandle: string }[]> {
    const { Messages } = await this.call<{ Messages?: { Body: string; ReceiptHandle: string }[] }>(
      "ReceiveMessage",
      {
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        MessageAttributeNames: ["All"],
        WaitTimeSeconds: 0,
      },
    );
    return Messages ?? [];
  }

  /** Everything currently in the queue (several receives, since one returns at most 10). */
  async drain(queueUrl: string): Promise<{ Body: string }[]> {
    const all: { Body: string }[] = [];
    for (;;) {
      const batch = await this.receive(queueUrl);
      if (batch.length === 0) return all;
      all.push(...batch);
      for (const m of batch)
        await this.call("DeleteMessage", { QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle });
    }
  }
}
