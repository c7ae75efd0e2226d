import { accessSync, constants, type Stats, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * Why the local runner could not write `path`, or null when it can: checked before a run starts,
 * so a typo in `--report out/r.json` costs a second, not the whole run and its results.
 * An existing file must be a writable file; a new one needs an existing, writable folder.
 */
export function outputPathProblem(flag: string, path: string): string | null {
  const absolute = resolve(path);
  const existing = statOrNull(absolute);
  if (existing !== null) {
    if (existing.isDirectory()) return `${flag} ${path}: is a folder, not a file`;
    return writable(absolute) ? null : `${flag} ${path}: the file is not writable`;
  }
  const folder = dirname(absolute);
  const parent = statOrNull(folder);
  if (parent === null) {
    // A file on the way ("in.log/x.json") reports ENOTDIR rather than ENOENT: name it plainly.
    const blocker = firstFileOnTheWay(folder);
    return blocker === null
      ? `${flag} ${path}: the folder ${folder} does not exist`
      : `${flag} ${path}: ${blocker} is not a folder`;
  }
  if (!parent.isDirectory()) return `${flag} ${path}: ${folder} is not a folder`;
  return writable(folder) ? null : `${flag} ${path}: the folder ${folder} is not writable`;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function firstFileOnTheWay(folder: string): string | null {
  for (let dir = folder; dir !== dirname(dir); dir = dirname(dir)) {
    const stats = statOrNull(dir);
    if (stats !== null) return stats.isDirectory() ? null : dir;
  }
  return null;
}
