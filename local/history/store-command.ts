import type { Writable } from "node:stream";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { SettingsError } from "../../shared/errors.js";
import type { HistoryStore } from "../../shared/history/types.js";
import { openHistoryStore, type StoreFlags } from "./open-store.js";

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Wall clock (ms); injectable for tests. */
  now?: () => number;
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

export interface StoreCommand<O extends Options> {
  options: O;
  usage: string;
  /** Runs one command; `openStore` opens the store the flags name (closed afterwards). */
  run(
    values: Parsed<O>["values"],
    command: string,
    rest: string[],
    openStore: () => HistoryStore,
  ): Promise<number>;
}

/**
 * The shell `npm run history` and `npm run silence` share: parse the flags, answer --help, run the
 * command, and turn a SettingsError into its message and exit code 2, a store failure into exit
 * code 1; the store is closed whatever happens.
 */
export async function runStoreCommand<O extends Options>(
  argv: readonly string[],
  io: CliIo,
  spec: StoreCommand<O>,
): Promise<number> {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n\nRun with --help for the options.\n`);
    return 2;
  }
  const values = parsed.values;
  const [command, ...rest] = parsed.positionals;
  const help = (values as { help?: boolean }).help === true;
  if (help || command === undefined || command === "help") {
    io.stdout.write(`${spec.usage}\n`);
    return command === undefined && !help ? 2 : 0;
  }
  let store: HistoryStore | null = null;
  try {
    return await spec.run(values, command, rest, () => {
      store = openHistoryStore(values as StoreFlags, io.env);
      return store;
    });
  } catch (error) {
    if (error instanceof SettingsError) {
      io.stderr.write(`error: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`history store failure: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await (store as HistoryStore | null)?.close();
  }
}
