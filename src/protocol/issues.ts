/**
 * Problems found in a value, kept as data: where (a path of keys) and what.
 * The parsers of this folder return them next to a one-line `reason`, as zod
 * keeps its issues and formats them last; {@linkcode formatIssues} is the one
 * place in the project that turns them into text.
 *
 * @module
 */

/** One problem with a value: where it is and what is wrong. */
export interface Issue {
  /** Keys from the root of the value to the part at fault; empty for the value itself. */
  path: (string | number)[];
  /** What is wrong, in words. */
  message: string;
}

/**
 * How a read fails in this folder: the kind of failure, one line that says
 * what is wrong, and the same as data.
 *
 * @typeParam Kind The kinds of failure.
 */
export interface ReadFailure<Kind extends string> {
  /** The value could not be read. */
  ok: false;
  /** What kind of failure. */
  kind: Kind;
  /** One line that says what is wrong, naming the fields. */
  reason: string;
  /** What is wrong, field by field. */
  issues: Issue[];
}

/**
 * An issue as zod and Standard Schema validators report it: a path key may
 * be a symbol, or wrapped as `{ key }`.
 */
export interface ValidatorIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where, as keys from the root. */
  readonly path?:
    | ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>
    | undefined;
}

/**
 * Turns a validator's issues (zod's `error.issues`, a Standard Schema
 * result's `issues`) into {@linkcode Issue}s.
 *
 * @param issues The validator's issues.
 * @returns The same issues with plain string and number paths.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { toIssues } from "./issues.ts";
 *
 * assert.deepEqual(
 *   toIssues([{ message: "Required", path: ["where", { key: "city" }, 0] }]),
 *   [{ path: ["where", "city", 0], message: "Required" }],
 * );
 * ```
 */
export function toIssues(issues: ReadonlyArray<ValidatorIssue>): Issue[] {
  return issues.map((issue) => ({
    path: (issue.path ?? []).map((part) => {
      const key = typeof part === "object" ? part.key : part;
      return typeof key === "number" ? key : String(key);
    }),
    message: issue.message,
  }));
}

/**
 * Writes a path as in JavaScript: `transcript[0].role`,
 * `variables["first-name"]`; the empty path is the empty string.
 *
 * @param path Keys from the root.
 * @returns The path as text.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPath } from "./issues.ts";
 *
 * assert.equal(formatPath(["transcript", 0, "role"]), "transcript[0].role");
 * assert.equal(formatPath(["variables", "first-name"]), 'variables["first-name"]');
 * ```
 */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((key, index) => {
    if (typeof key === "number") return `[${key}]`;
    if (!IDENTIFIER_REGEXP.test(key)) return `[${JSON.stringify(key)}]`;
    return index === 0 ? key : `.${key}`;
  }).join("");
}

/**
 * Writes one issue as `path: message`, the path as {@linkcode formatPath}
 * writes it; an issue with the value itself is its message alone.
 *
 * @param issue The issue.
 * @returns One line.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatIssue } from "./issues.ts";
 *
 * assert.equal(
 *   formatIssue({ path: ["transcript", 0, "role"], message: "Required" }),
 *   "transcript[0].role: Required",
 * );
 * assert.equal(formatIssue({ path: [], message: "Required" }), "Required");
 * ```
 */
export function formatIssue(issue: Issue): string {
  const path = formatPath(issue.path);
  return path === "" ? issue.message : `${path}: ${issue.message}`;
}

/**
 * Most issues {@linkcode formatIssues} names; a frame built to fail in a
 * million places must not make a million-part log line.
 */
export const MAX_FORMATTED_ISSUES = 3;

/**
 * Joins issues into one line, each as {@linkcode formatIssue} writes it,
 * separated by `; `: the first {@linkcode MAX_FORMATTED_ISSUES}, then how
 * many more there are.
 *
 * @param issues The issues.
 * @returns One line naming the first few issues.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatIssues } from "./issues.ts";
 *
 * assert.equal(
 *   formatIssues([
 *     { path: ["response_id"], message: "Invalid input" },
 *     { path: [], message: 'Unrecognized key: "contnet"' },
 *   ]),
 *   'response_id: Invalid input; Unrecognized key: "contnet"',
 * );
 * const many = Array.from({ length: 5 }, (_, index) => ({
 *   path: ["transcript", index, "role"],
 *   message: "Required",
 * }));
 * assert.equal(
 *   formatIssues(many),
 *   "transcript[0].role: Required; transcript[1].role: Required; " +
 *     "transcript[2].role: Required; and 2 more",
 * );
 * ```
 */
export function formatIssues(issues: readonly Issue[]): string {
  const named = issues.slice(0, MAX_FORMATTED_ISSUES).map(formatIssue);
  const more = issues.length - named.length;
  if (more > 0) named.push(`and ${more} more`);
  return named.join("; ");
}

const IDENTIFIER_REGEXP = /^[A-Za-z_$][\w$]*$/;
