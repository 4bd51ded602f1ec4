/**
 * Every setting at its default, as typed values: what the library falls
 * back on when an option is left out, so that each default is written
 * once, in `SETTINGS`.
 *
 * @module
 */
import { loadConfig } from "./load.ts";
import type { Config } from "./settings.ts";

/** The settings of an empty environment. */
export const DEFAULT_CONFIG: Config = loadConfig(new Map());
