/**
 * One place that builds the adapter for a format name and its options, for the local runner and
 * the processor Lambda alike. Every adapter removes container wrappers first.
 */
import { AccessLogAdapter } from "./access-log.js";
import { createAutoAdapter } from "./auto.js";
import { ContainerUnwrap } from "./container.js";
import { JsonAdapter, PRESET_NAMES, presetMapping } from "./json.js";
import { LambdaAdapter } from "./lambda.js";
import { type CompiledMapping, compileMapping } from "./mapping.js";
import { METRIC_FIELDS, MetricCsvAdapter, type MetricField } from "./metric-csv.js";
import { SSHD_MODES, SshdAdapter, type SshdMode } from "./sshd.js";
import { TimeZone } from "./time.js";
import { FORMATS, type FormatName, type LineAdapter } from "./types.js";

export { FORMATS, type FormatName } from "./types.js";

export interface AdapterSettings {
  format: FormatName;
  /** Preset name, or an already decoded mapping object (from a file or the config). */
  mapping?: string | Record<string, unknown>;
  service?: string;
  timezone?: string;
  year?: number;
  /** sshd: normal (default), ddos, extra, aggressive. */
  mode?: string;
  /** nginx/apache: a log_format / LogFormat string. */
  logFormat?: string;
  /** metric-csv: the series is this field (cpu_pct, memory_pct), so rules and ML features watch it. */
  metricField?: string;
}

/** Build an adapter, or say exactly what is wrong with the settings. */
export function createAdapter(settings: AdapterSettings): LineAdapter | string {
  if (!(FORMATS as readonly string[]).includes(settings.format)) {
    return `unknown format ${JSON.stringify(settings.format)} (formats: ${FORMATS.join(", ")})`;
  }
  let mapping: CompiledMapping | undefined;
  if (typeof settings.mapping === "string") {
    const preset = presetMapping(settings.mapping);
    if (preset === null)
      return `unknown mapping preset ${JSON.stringify(settings.mapping)} (presets: ${PRESET_NAMES.join(", ")})`;
    mapping = preset;
  } else if (settings.mapping !== undefined) {
    const compiled = compileMapping(settings.mapping);
    if (Array.isArray(compiled)) return compiled.join("; ");
    mapping = compiled;
  }
  if (settings.timezone !== undefined) {
    const zone = TimeZone.parse(settings.timezone);
    if (typeof zone === "string") return zone;
  }
  if (
    settings.metricField !== undefined &&
    !(METRIC_FIELDS as readonly string[]).includes(settings.metricField)
  ) {
    return `unknown metric field ${JSON.stringify(settings.metricField)} (fields: ${METRIC_FIELDS.join(", ")})`;
  }
  if (settings.mode !== undefined && !(SSHD_MODES as readonly string[]).includes(settings.mode)) {
    return `unknown sshd mode ${JSON.stringify(settings.mode)} (modes: ${SSHD_MODES.join(", ")})`;
  }
  const common = {
    ...(settings.service === undefined ? {} : { service: settings.service }),
    ...(settings.timezone === undefined ? {} : { timezone: settings.timezone }),
    ...(settings.year === undefined ? {} : { year: settings.year }),
  };
  try {
    switch (settings.format) {
      case "auto":
        return createAutoAdapter({
          ...common,
          ...(mapping ? { mapping } : {}),
          mode: (settings.mode ?? "normal") as SshdMode,
        });
      case "json":
        return new ContainerUnwrap(new JsonAdapter({ ...common, ...(mapping ? { mapping } : {}) }));
      case "lambda":
        return new ContainerUnwrap(new LambdaAdapter({ ...common, ...(mapping ? { mapping } : {}) }));
      case "nginx":
      case "apache":
        return new ContainerUnwrap(
          new AccessLogAdapter(settings.format, {
            ...common,
            ...(settings.logFormat === undefined ? {} : { logFormat: settings.logFormat }),
          }),
        );
      case "sshd":
        return new ContainerUnwrap(
          new SshdAdapter({ ...common, mode: (settings.mode ?? "normal") as SshdMode }),
        );
      case "metric-csv":
        return new ContainerUnwrap(
          new MetricCsvAdapter({
            ...common,
            ...(settings.metricField === undefined ? {} : { field: settings.metricField as MetricField }),
          }),
        );
    }
  } catch (error) {
    return (error as Error).message;
  }
}
