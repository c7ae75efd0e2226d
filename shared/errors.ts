/**
 * The project's one error family. `code` names the kind of problem, so a caller branches on the kind
 * rather than on a list of classes: the CLIs turn `settings` into one line and exit code 2, a Lambda
 * fails at once on it, and a restore that meets `state` starts fresh and counts it. A lower error is
 * kept as the ES2022 `cause` (`new SettingsError("...", { cause })`), so its message and stack reach the
 * logs without being pasted into the message the user reads.
 *
 * Names are set explicitly, not from `new.target.name`: the Lambda bundles are minified, and a log
 * line should still say `SettingsError`.
 */
export type ErrorCode = "settings" | "state" | "input";

export abstract class ObservabilityError extends Error {
  abstract readonly code: ErrorCode;
  override name = "ObservabilityError";
}

/**
 * A setting the person running it can fix: a command-line flag, an environment variable, a config
 * document, a file or URL it names.
 */
export class SettingsError extends ObservabilityError {
  readonly code = "settings";
  override name = "SettingsError";
}

/** A saved snapshot (detector, alert manager, remediation) that cannot be restored as it is. */
export class StateError extends ObservabilityError {
  readonly code = "state";
  override name = "StateError";

  constructor(subject: string, problem: string, options?: ErrorOptions) {
    super(`cannot restore ${subject} state: ${problem}`, options);
  }
}

/** Data handed to a computation that it cannot use (a training matrix, a scored series). */
export class InputError extends ObservabilityError {
  readonly code = "input";
  override name = "InputError";
}
