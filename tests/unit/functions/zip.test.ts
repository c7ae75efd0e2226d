import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createZip } from "../../../functions/tools/zip.js";

function toolAvailable(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

function gate(tool: string, available: boolean): boolean {
  if (available) return true;
  if (process.env.REQUIRE_TOOLS === "1")
    throw new Error(`${tool} is required (REQUIRE_TOOLS=1) but not found`);
  console.warn(`skipping: ${tool} not found on the PATH`);
  return false;
}

const PYTHON_READS_ZIP = `
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    print(json.dumps({"bad": bad, "entries": {i.filename: {"data": z.read(i).decode("latin-1"), "mode": (i.external_attr >> 16) & 0o777, "method": i.compress_type} for i in z.infolist()}}))
`;

const entries = [
  { name: "index.js", data: Buffer.from("exports.handler = async () => 'ok';\n".repeat(200)) },
  { name: "index.js.map", data: Buffer.from('{"version":3}') },
  { name: "dir/bin.dat", data: Buffer.from([0, 255, 1, 254, 2]), mode: 0o755 },
  { name: "empty.txt", data: Buffer.alloc(0) },
];

describe("createZip", () => {
  const python = gate("python3", toolAvailable("python3", ["--version"]));
  it.skipIf(!python)(
    "writes an archive python's zipfile reads back byte for byte, with CRCs that check",
    () => {
      const path = join(mkdtempSync(join(tmpdir(), "zip-")), "test.zip");
      writeFileSync(path, createZip(entries));
      const run = spawnSync("python3", ["-c", PYTHON_READS_ZIP, path], { encoding: "utf8" });
      expect(run.stderr).toBe("");
      const read = JSON.parse(run.stdout) as {
        bad: string | null;
        entries: Record<string, { data: string; mode: number; method: number }>;
      };
      expect(read.bad).toBeNull();
      for (const entry of entries) {
        expect(read.entries[entry.name]?.data).toBe(entry.data.toString("latin1"));
        expect(read.entries[entry.name]?.mode).toBe(entry.mode ?? 0o644);
      }
      // Compressible text is deflated (8); tiny data that would grow is stored (0).
      expect(read.entries["index.js"]?.method).toBe(8);
      expect(read.entries["dir/bin.dat"]?.method).toBe(0);
    },
  );

  const unzip = toolAvailable("unzip", ["-v"]);
  it.skipIf(!unzip)("passes unzip's integrity test", () => {
    const path = join(mkdtempSync(join(tmpdir(), "zip-")), "test.zip");
    writeFileSync(path, createZip(entries));
    const run = spawnSync("unzip", ["-t", path], { encoding: "utf8" });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("No errors detected");
  });

  it("is byte-identical for identical input (reproducible builds)", () => {
    expect(createZip(entries).equals(createZip(entries))).toBe(true);
  });

  it.each([
    ["a duplicate name", [entries[0], entries[0]]],
    ["an absolute path", [{ name: "/etc/passwd", data: Buffer.alloc(1) }]],
    ["a parent reference", [{ name: "a/../../b", data: Buffer.alloc(1) }]],
    ["an empty name", [{ name: "", data: Buffer.alloc(1) }]],
  ])("refuses %s", (_label, bad) => {
    expect(() => createZip(bad as typeof entries)).toThrow(/zip: /);
  });
});
