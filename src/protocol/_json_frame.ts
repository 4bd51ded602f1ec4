/** What {@linkcode readJsonObject} found in a frame. */
export type JsonObjectResult =
  | {
    /** The frame is a JSON object. */
    ok: true;
    /** The object. */
    object: Record<string, unknown>;
  }
  | {
    /** The frame is not a JSON object. */
    ok: false;
    /** Not JSON at all, or JSON of another type. */
    kind: "not_json" | "not_event";
    /** One line saying what is wrong. */
    reason: string;
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
    const detail = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      kind: "not_json",
      reason: `Cannot parse frame as JSON: ${detail.replace(/\s+/g, " ")}`,
    };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return {
      ok: false,
      kind: "not_event",
      reason: `Cannot read frame: expected a JSON object, received ${
        describeJsonType(json)
      }`,
    };
  }
  return { ok: true, object: json as Record<string, unknown> };
}

/**
 * Names a JSON value's type for an error message: "null", "an array", "string", ...
 *
 * @param value Any value.
 * @returns The name.
 */
export function describeJsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "undefined" ? "nothing" : typeof value;
}
