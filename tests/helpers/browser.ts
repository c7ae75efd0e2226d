/**
 * Headless Chromium (Debian's package, /usr/bin/chromium) driven by playwright-core, and the local
 * runner with its dashboard as a spawned process.
 *
 *   if (toolGate("chromium", chromiumAvailable())) { const browser = await launchChromium(); ... }
 *   const run = await startDashboardRun(["--duration", "20", "--speed", "60"]);
 *   run.url, run.token, run.child.stdin; await run.stop();
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
const ROOT = new URL("../..", import.meta.url).pathname;

/** Where browser tests leave screenshots (git-ignored; CI uploads it). */
export const ARTIFACTS_DIR = join(ROOT, "tests", "e2e", "artifacts");

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export interface DashboardRun {
  /** http://127.0.0.1:PORT/ */
  url: string;
  token: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the runner has ended by itself. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** The token the tests give the runner through DASHBOARD_TOKEN. */
export const TEST_TOKEN = "e2e-dashboard-token-0123456789";

/**
 * `npm run local -- --dashboard --port 0 ARGS` as a child process; resolves once the dashboard
 * address is printed.
 */
export async function startDashboardRun(args: string[], timeoutMs = 60_000): Promise<DashboardRun> {
  const child = spawn(
    process.execPath,
    [join(ROOT, "local/launch.mjs"), "local/cli.ts", "--dashboard", "--port", "0", ...args],
    {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", DASHBOARD_TOKEN: TEST_TOKEN },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard address printed:\n${out}`)), timeoutMs);
    const check = () => {
      const match = /dashboard: (http:\/\/[^#\s]+)#token=/.exec(out);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`runner exited (${code}) before the dashboard started:\n${out}`));
    });
  });
  return {
    url,
    token: TEST_TOKEN,
    child,
    output: () => out,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
