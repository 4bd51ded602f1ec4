import type { z } from "zod";
import { type Issue, type ReadFailure, toIssues } from "./issues.ts";

/** What {@linkcode readJsonObject} found in a frame. */
export type JsonObjectResult =
  | {
    /** The frame is a JSON object. */
    ok: true;
    /** The object. */
    object: Record<string, unknown>;
  }
  | ReadFailure<"not_json">
  | ReadFailure<"not_event"> & {
    /** Never an object here. */
    object: undefined;
  };

/**
 * Parses a text frame that must hold one JSON object (PROTOCOL.md §1.4), the
 * first step of reading an event in either direction. Never throws.
 *
 * @param text The frame's payload.
 * @returns The object, or why the frame is not one.
 */
export function readJsonObject(text: string): JsonObjectResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const detail = (error as SyntaxError).message; // JSON.parse throws nothing else
    const message = detail.replace(/\s+/g, " ");
    return {
      ok: false,
      kind: "not_json",
      reason: `Cannot parse frame as JSON: ${message}`,
      issues: [{ path: [], message }],
    };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    const message = `expected a JSON object, received ${
      describeJsonType(json)
    }`;
    return {
      ok: false,
      kind: "not_event",
      reason: `Cannot read frame: ${message}`,
      issues: [{ path: [], message }],
      object: undefined,
    };
  }
  return { ok: true, object: json as Record<string, unknown> };
}

/**
 * The failure of a frame whose discriminator (`interaction_type`,
 * `response_type`) is not a string.
 *
 * @param object The frame's object.
 * @param key The discriminator's name.
 * @returns The failure, naming the key.
 */
export function discriminatorNotString(
  object: Record<string, unknown>,
  key: string,
): ReadFailure<"not_event"> & { object: Record<string, unknown> } {
  const message = `must be a string, received ${describeJsonType(object[key])}`;
  return {
    ok: false,
    kind: "not_event",
    reason: `Cannot read frame: "${key}" ${message}`,
    issues: [{ path: [key], message }],
    object,
  };
}

/** What {@linkcode checkEvent} made of an object. */
export type EventCheck<Event> =
  | {
    /** The object is a valid event. */
    ok: true;
    /** The event. */
    event: Event;
  }
  | {
    /** The object's only fault is `null` for optional fields. */
    ok: false;
    /** Retell tolerates such a frame in practice (§4.0). */
    kind: "null_optional";
    /** The object read without its null fields. */
    event: Event;
    /** The top-level keys whose value is null. */
    nullFields: string[];
    /** What the schema found, null fields included. */
    issues: Issue[];
  }
  | {
    /** The object is not a valid event. */
    ok: false;
    /** A missing, wrongly typed or unknown field. */
    kind: "invalid";
    /** What the schema found. */
    issues: Issue[];
  };

/**
 * Checks a frame's object against the schema of its event type. When it
 * fails only because some top-level fields are `null`, which the documented
 * form leaves out, it comes back as `null_optional` with its reading
 * without them.
 *
 * @param schema The event type's schema.
 * @param object The frame's object.
 * @returns The event, or what is wrong with the object.
 */
export function checkEvent<Event>(
  schema: z.ZodType<Event>,
  object: Record<string, unknown>,
): EventCheck<Event> {
  const parsed = schema.safeParse(object);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issues = toIssues(parsed.error.issues);
  const nullFields = Object.keys(object).filter((key) => object[key] === null);
  if (nullFields.length > 0) {
    const rest = Object.fromEntries(
      Object.entries(object).filter(([, value]) => value !== null),
    );
    const retry = schema.safeParse(rest);
    if (retry.success) {
      return {
        ok: false,
        kind: "null_optional",
        event: retry.data,
        nullFields,
        issues,
      };
    }
  }
  return { ok: false, kind: "invalid", issues };
}

/** Names a JSON value's type for an error message: "null", "an array", "string", ... */
function describeJsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "undefined" ? "nothing" : typeof value;
}
