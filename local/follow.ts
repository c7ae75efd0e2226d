/**
 * `--follow`: read a growing log file the way `tail -F` does, from its first line on:
 * - appended data is read as it arrives (polling; no platform-specific watchers);
 * - rotation by rename: the old file is read to its end, then the new file at the same path is
 *   opened (waiting for it if it does not exist yet) and read from its start;
 * - truncation (copytruncate, `> file`): reading restarts at the start of the file.
 * Each complete line is yielded exactly once; a last line without a newline is yielded when the
 * file is rotated away or the run ends. `onIdle` runs about once a second while nothing arrives,
 * so the caller can let time pass and deliver alerts live.
 */
import { type FileHandle, open, stat } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";

export interface FollowOptions {
  signal?: AbortSignal | undefined;
  /** Called when no data arrived for `idleMs`; awaited before reading on. */
  onIdle?: () => Promise<void> | void;
  now?: () => number;
  pollMs?: number;
  idleMs?: number;
}

const CHUNK_BYTES = 64 * 1024;
/** A line longer than this is cut (the adapters refuse lines over 16 KiB anyway); memory stays bounded. */
const MAX_PENDING_CHARS = 1024 * 1024;

interface OpenFile {
  handle: FileHandle;
  ino: number;
  dev: number;
  position: number;
  decoder: StringDecoder;
  pending: string;
}

async function openAt(path: string): Promise<OpenFile | null> {
  try {
    const handle = await open(path, "r");
    const info = await handle.stat();
    return {
      handle,
      ino: info.ino,
      dev: info.dev,
      position: 0,
      decoder: new StringDecoder("utf8"),
      pending: "",
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** Read what is there past the position; returns the complete lines and keeps the rest pending. */
async function readAvailable(file: OpenFile): Promise<string[]> {
  const lines: string[] = [];
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  for (;;) {
    const { bytesRead } = await file.handle.read(buffer, 0, CHUNK_BYTES, file.position);
    if (bytesRead === 0) break;
    file.position += bytesRead;
    let text = file.pending + file.decoder.write(buffer.subarray(0, bytesRead));
    let newline = text.indexOf("\n");
    while (newline >= 0) {
      const line = text.slice(0, newline);
      lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      text = text.slice(newline + 1);
      newline = text.indexOf("\n");
    }
    file.pending = text.length > MAX_PENDING_CHARS ? text.slice(0, MAX_PENDING_CHARS) : text;
    if (bytesRead < CHUNK_BYTES) break;
  }
  return lines;
}

function takeRest(file: OpenFile): string | null {
  const rest = file.pending + file.decoder.end();
  file.pending = "";
  return rest === "" ? null : rest;
}

export async function* followLines(path: string, options: FollowOptions = {}): AsyncGenerator<string> {
  const pollMs = options.pollMs ?? 100;
  const idleMs = options.idleMs ?? 1000;
  const now = options.now ?? (() => Date.now());
  const aborted = () => options.signal?.aborted === true;
  let file: OpenFile | null = null;
  let lastDataMs = now();
  let lastIdleMs = now();
  try {
    while (!aborted()) {
      file ??= await openAt(path);
      let gotData = false;
      if (file !== null) {
        const size = (await file.handle.stat()).size;
        if (size < file.position) {
          // Truncated: what was pending belonged to the old content.
          file.position = 0;
          file.pending = "";
          file.decoder = new StringDecoder("utf8");
        }
        const lines = await readAvailable(file);
        for (const line of lines) yield line;
        gotData = lines.length > 0;
        let current: { ino: number; dev: number } | null = null;
        try {
          current = await stat(path);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
        if (current === null || current.ino !== file.ino || current.dev !== file.dev) {
          // Rotated (or removed): finish the old file, then move to the new one when it appears.
          for (const line of await readAvailable(file)) yield line;
          const rest = takeRest(file);
          if (rest !== null) yield rest;
          await file.handle.close();
          file = null;
          gotData = true;
          continue;
        }
      }
      const at = now();
      if (gotData) lastDataMs = at;
      else if (at - lastDataMs >= idleMs && at - lastIdleMs >= idleMs) {
        lastIdleMs = at;
        await options.onIdle?.();
      }
      try {
        await sleep(pollMs, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch {
        // Aborted while sleeping: the loop ends below.
      }
    }
    if (file !== null) {
      for (const line of await readAvailable(file)) yield line;
      const rest = takeRest(file);
      if (rest !== null) yield rest;
    }
  } finally {
    await file?.handle.close().catch(() => undefined);
  }
}
