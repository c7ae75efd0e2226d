import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { arch, cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

const BENCH_DOC = new URL("../../docs/benchmarks.md", import.meta.url);

/** One line naming the machine, for every section: figures without it mean little. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? "unknown cpu";
  return `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${arch()}, Node ${process.version}`;
}

/**
 * Replace (or append) the section between `<!-- bench:NAME -->` markers in docs/benchmarks.md,
 * so each benchmark owns its part of the page and a rerun updates it in place.
 */
export function writeBenchSection(name: string, markdown: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  let doc = "";
  try {
    doc = readFileSync(BENCH_DOC, "utf8");
  } catch {
    doc = "# Benchmarks\n\nWritten by `npm run bench`; each section names its machine and command.\n";
  }
  const block = `${begin}\n${markdown.trim()}\n${end}`;
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end);
  doc =
    start >= 0 && stop > start
      ? doc.slice(0, start) + block + doc.slice(stop + end.length)
      : `${doc.trimEnd()}\n\n${block}\n`;
  writeFileSync(BENCH_DOC, doc);
  // The page is linted like every other file; format it as written so `npm run lint` stays clean.
  const biome = fileURLToPath(new URL("../../node_modules/.bin/biome", import.meta.url));
  execFileSync(biome, ["format", "--write", fileURLToPath(BENCH_DOC)], { stdio: "ignore" });
}
