/**
 * Fills `{{name}}` placeholders, the syntax Retell uses for dynamic
 * variables, from a map of values; `{{name|default}}` supplies a default.
 *
 * @module
 */

const PLACEHOLDER_REGEXP = /\{\{\s*([A-Za-z0-9_.-]+)\s*(?:\|([^{}|]*))?\}\}/g;

/** Stands for a removed placeholder until the text around it is tidied. */
const GAP = "\uE000";

/**
 * Replaces each `{{name}}` in `text` with `variables[name]`, and each
 * `{{name|default}}` with the value or, when there is none, the default.
 * A placeholder left without a value (missing or empty, and no default) is
 * removed, never left to be read aloud, and the text around it is tidied:
 * no double spaces, no space before punctuation, no dangling comma at the
 * start of a line. Each such name is passed to `onUnfilled`, unless its
 * default was given empty (`{{name|}}`: leave it out quietly).
 *
 * @param text The template.
 * @param variables Values by name, such as a call's `retell_llm_dynamic_variables`.
 * @param onUnfilled Told the name of each placeholder left without a value.
 * @returns The filled text.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillTemplate } from "./template.ts";
 *
 * const variables = { customer_name: "Dana" };
 * assert.equal(fillTemplate("Hi {{customer_name}}!", variables), "Hi Dana!");
 * assert.equal(fillTemplate("Hi {{ first_name | there }}!", variables), "Hi there!");
 * assert.equal(fillTemplate("Hi {{first_name}}, welcome!", variables), "Hi, welcome!");
 * ```
 */
export function fillTemplate(
  text: string,
  variables: Readonly<Record<string, string>> | undefined,
  onUnfilled?: (name: string) => void,
): string {
  if (!text.includes("{{")) return text;
  let removed = false;
  const filled = text.replace(
    PLACEHOLDER_REGEXP,
    (_placeholder, name: string, fallback: string | undefined) => {
      const value = variables !== undefined && Object.hasOwn(variables, name)
        ? String(variables[name])
        : "";
      if (value !== "") return value;
      const defaultValue = fallback?.trim() ?? "";
      if (defaultValue !== "") return defaultValue;
      removed = true;
      // An empty default (`{{name|}}`) asks for nothing, quietly.
      if (fallback === undefined) onUnfilled?.(name);
      return GAP;
    },
  );
  return removed ? tidyGaps(filled) : filled;
}

/** Removes the gaps left by unfilled placeholders, with the space around them. */
function tidyGaps(text: string): string {
  return text
    // Gaps in a row are one gap.
    .replace(/\uE000(?:[ \t]*\uE000)+/g, GAP)
    // At the start of a line: the gap, its spaces and a comma after it.
    .replace(/(^|\n)[ \t]*\uE000[ \t]*(?:[,;:][ \t]*)?/g, "$1")
    // Before punctuation or the end of a line: the gap, its spaces and a
    // comma before it.
    .replace(
      /(?:[ \t]*[,;:])?[ \t]*\uE000[ \t]*(?=[,.!?;:)\]。！？、]|\n|$)/g,
      "",
    )
    // Between words: one space stays.
    .replace(/[ \t]*\uE000[ \t]*/g, (gap) => gap.length > 1 ? " " : "");
}

/**
 * Whether `text` has a `{{name}}` or `{{name|default}}` placeholder.
 *
 * @param text The template.
 * @returns True when a placeholder is present.
 */
export function hasPlaceholders(text: string): boolean {
  PLACEHOLDER_REGEXP.lastIndex = 0;
  return PLACEHOLDER_REGEXP.test(text);
}
