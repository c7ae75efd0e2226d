import * as v from "valibot";
import { CONFIG_SCHEMA } from "./schema.js";
import type { PipelineConfig } from "./types.js";

/**
 * The documented defaults: what the schema makes of an empty document (docs/configuration.md).
 * A config file overrides any subset of keys.
 */
export const DEFAULT_CONFIG: PipelineConfig = v.parse(CONFIG_SCHEMA, {});
