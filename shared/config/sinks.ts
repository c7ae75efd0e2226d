/**
 * The `sinks:` section of the config: where notifications go besides the console and files. A sink
 * names where its URL comes from (an environment variable or a file), never the URL itself: webhook
 * URLs are secrets (anyone holding a Slack webhook URL can post to the channel), and config files
 * get committed, pasted and logged.
 */
import * as v from "valibot";
import { allowed, describe, numberIn, oneOf, required, say, section, text, unknownKeyText } from "./kit.js";

export const SINK_TYPES = ["webhook", "slack", "alertmanager"] as const;
export type SinkType = (typeof SINK_TYPES)[number];

const URL_KEYS = ["url", "webhook_url"];

const sinkItem = v.pipe(
  section(
    {
      type: required(oneOf(SINK_TYPES, "payload format")),
      name: v.optional(text("name in reports, the summary and the history; unique (default: the type)")),
      url_env: v.optional(
        v.pipe(
          text("the environment variable holding the URL"),
          v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, (issue) =>
            say("wrong_type", `must be an environment variable name, got ${describe(issue.input)}`),
          ),
          allowed("an environment variable name"),
        ),
      ),
      url_file: v.optional(
        v.pipe(text("a file whose first line is the URL (a mounted secret)"), allowed("a path")),
      ),
      min_interval_s: v.optional(
        numberIn(
          { min: 0, max: 3600 },
          "least seconds between two requests to this URL (default 1 for slack, else 0)",
        ),
      ),
      receiver: v.optional(text("alertmanager: the message's `receiver` (default: the name)")),
      external_url: v.optional(text("alertmanager: the message's `externalURL` (default empty)")),
      max_alerts: v.optional(
        numberIn(
          { min: 0, max: 10_000, integer: true },
          "alertmanager: alerts per message, the rest counted in `truncatedAlerts` (0 = all)",
        ),
      ),
    },
    {
      expected: "a mapping with type and url_env or url_file",
      unknownKey: (key, known) =>
        URL_KEYS.includes(key)
          ? "put the URL in an environment variable (url_env) or a file (url_file), not in the config"
          : unknownKeyText(key, known),
      rules: [
        {
          keys: ["url_env", "url_file"],
          holds: (sink) => (sink.url_env === undefined) !== (sink.url_file === undefined),
          message: () =>
            "needs exactly one of url_env (an environment variable) or url_file (a file) holding the URL; URLs are secrets and do not belong in the config",
          doc: "exactly one of `url_env` and `url_file`",
        },
      ],
    },
  ),
  v.transform((sink) => ({ ...sink, name: sink.name ?? sink.type })),
);

export const SINKS_SCHEMA = v.pipe(
  v.array(sinkItem, (issue) => say("wrong_type", `must be a list of sinks, got ${describe(issue.input)}`)),
  v.rawCheck(({ dataset, addIssue }) => {
    // Validations still run after the list itself failed: only look at a list.
    if (!Array.isArray(dataset.value)) return;
    const bad = new Set((dataset.issues ?? []).map((issue) => issue.path?.[0]?.key));
    const seen = new Set<string>();
    // The items without errors of their own are typed.
    const list = dataset.value as SinkConfig[];
    list.forEach((sink, index) => {
      // A sink with its own errors is already refused; its name would only add noise.
      if (bad.has(index)) return;
      if (!seen.has(sink.name)) {
        seen.add(sink.name);
        return;
      }
      addIssue({
        message: say("cross_field", `sink name "${sink.name}" is used twice; give each a name`),
        path: [
          { type: "array", origin: "value", input: list, key: index, value: sink },
          { type: "object", origin: "value", input: sink, key: "name", value: sink.name },
        ],
      });
    });
  }),
  v.description("webhook, Slack and Alertmanager receivers"),
);

export type SinkConfig = v.InferOutput<typeof sinkItem>;
