/**
 * Fills `{{name}}` placeholders, the syntax Retell uses for dynamic
 * variables, from a map of values.
 *
 * @module
 */

const PLACEHOLDER_REGEXP = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/**
 * Replaces each `{{name}}` in `text` with `variables[name]`. A placeholder
 * without a value stays as written, so a missing variable is visible in the
 * transcript instead of silently becoming an empty string.
 *
 * @param text The template.
 * @param variables Values by name, such as a call's `retell_llm_dynamic_variables`.
 * @returns The filled text.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillTemplate } from "./template.ts";
 *
 * assert.equal(
 *   fillTemplate("Hi {{customer_name}}, {{ missing }}!", { customer_name: "Dana" }),
 *   "Hi Dana, {{ missing }}!",
 * );
 * ```
 */
export function fillTemplate(
  text: string,
  variables: Readonly<Record<string, string>> | undefined,
): string {
  if (variables === undefined || !text.includes("{{")) return text;
  return text.replace(
    PLACEHOLDER_REGEXP,
    (placeholder, name: string) =>
      Object.hasOwn(variables, name) ? String(variables[name]) : placeholder,
  );
}

/**
 * Whether `text` has a `{{name}}` placeholder.
 *
 * @param text The template.
 * @returns True when a placeholder is present.
 */
export function hasPlaceholders(text: string): boolean {
  PLACEHOLDER_REGEXP.lastIndex = 0;
  return PLACEHOLDER_REGEXP.test(text);
}
