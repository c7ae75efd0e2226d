/**
 * Terraform as a test fixture. Each workspace is a temporary copy of infra/ (the *.tf files,
 * templates/ and tests/), so `init`, the provider cache, plans and state never touch the repository, and
 * `cleanup()` removes every trace.
 *
 *   const ws = await TerraformWorkspace.create(INFRA_DIR);
 *   await ws.init();                               // offline mirror when /opt/tf-plugins exists
 *   const { code, stdout } = await ws.run(["validate"]);
 *   await ws.cleanup();
 */
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where the machine keeps an offline copy of the aws provider (see docs/deploy.md). */
export const OFFLINE_PLUGIN_DIR = process.env.TF_PLUGIN_DIR ?? "/opt/tf-plugins";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function terraformAvailable(): boolean {
  return spawnSync("terraform", ["version"], { stdio: "ignore" }).status === 0;
}

/** Runs a command to completion without blocking the event loop (vitest keeps its timers). */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; input?: string },
): Promise<CommandResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    child.stdin?.end(options.input);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      }),
    );
  });
}

export class TerraformWorkspace {
  private constructor(readonly dir: string) {}

  /** Copies the configuration (top-level *.tf, templates/ and the terraform tests/) into a fresh temporary directory. */
  static create(infraDir: string): TerraformWorkspace {
    const dir = mkdtempSync(join(tmpdir(), "cloud-observability-tf-"));
    for (const entry of readdirSync(infraDir, { withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith(".tf"))
        cpSync(join(infraDir, entry.name), join(dir, entry.name));
    }
    for (const folder of ["templates", "tests"]) {
      const source = join(infraDir, folder);
      if (existsSync(source)) cpSync(source, join(dir, folder), { recursive: true });
    }
    return new TerraformWorkspace(dir);
  }

  /** Environment for every terraform call: no prompts, no update checks, no user CLI config. */
  private env(): Record<string, string> {
    return {
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
      CHECKPOINT_DISABLE: "1",
      TF_CLI_CONFIG_FILE: "/dev/null",
    };
  }

  async run(args: readonly string[], input?: string): Promise<CommandResult> {
    return await runCommand("terraform", [...args], { cwd: this.dir, env: this.env(), input });
  }

  /** Evaluates one expression with `terraform console`; returns its printed value. */
  async evaluate(expression: string, args: readonly string[] = []): Promise<string> {
    // console reads one expression per line.
    const oneLine = expression.replace(/\s*\n\s*/g, " ");
    const result = await this.run(["console", "-no-color", ...args], `${oneLine}\n`);
    if (result.code !== 0) throw new Error(`terraform console failed:\n${result.stderr}`);
    return result.stdout;
  }

  /** `terraform init`, from the offline provider mirror when the machine has one. */
  async init(): Promise<CommandResult> {
    const args = ["init", "-input=false", "-no-color"];
    if (existsSync(OFFLINE_PLUGIN_DIR)) args.push(`-plugin-dir=${OFFLINE_PLUGIN_DIR}`);
    const result = await this.run(args);
    if (result.code !== 0) throw new Error(`terraform init failed:\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `-var name=value` pairs, in a stable order. */
export function varArgs(vars: Record<string, string | number | boolean>): string[] {
  return Object.entries(vars).flatMap(([name, value]) => ["-var", `${name}=${String(value)}`]);
}
