/**
 * A hand-written check of the events the server sends every turn
 * (`response`, `ping_pong`): the rules of their strict schemas in
 * `_outbound_schemas.ts`, without zod's per-frame work. It only ever
 * accepts; an event it does not accept goes to the schema, which says why
 * it fails. `tests/protocol/outbound_fast_test.ts` holds it to the schemas.
 *
 * @module
 */

/** The keys a `response` event may carry, each with its check. */
const RESPONSE_KEYS: Record<string, (value: unknown) => boolean> = {
  response_type: (value) => value === "response",
  response_id: (value) => Number.isSafeInteger(value) && (value as number) >= 0,
  content: (value) => typeof value === "string",
  content_complete: (value) => typeof value === "boolean",
  no_interruption_allowed: isOptionalBoolean,
  end_call: isOptionalBoolean,
  transfer_number: isOptionalText,
  show_transferee_as_caller: isOptionalBoolean,
  digit_to_press: isOptionalText,
};

const REQUIRED_RESPONSE_KEYS = [
  "response_id",
  "content",
  "content_complete",
] as const;

function isOptionalBoolean(value: unknown): boolean {
  return value === undefined || typeof value === "boolean";
}

function isOptionalText(value: unknown): boolean {
  return value === undefined ||
    (typeof value === "string" && value.length > 0);
}

/**
 * True when the value is a valid `response` or `ping_pong` event, a plain
 * object with no key its strict schema does not name.
 *
 * @param event Whatever is about to be sent.
 * @returns True when it can go on the wire as it is; false when the schema
 * must decide.
 */
export function isValidHotEvent(event: unknown): boolean {
  if (
    typeof event !== "object" || event === null ||
    Object.getPrototypeOf(event) !== Object.prototype
  ) return false;
  const object = event as Record<string, unknown>;
  const type = object.response_type;
  if (type === "ping_pong") {
    const keys = Object.keys(object);
    return keys.length === 2 && Object.hasOwn(object, "timestamp") &&
      Number.isFinite(object.timestamp);
  }
  if (type !== "response") return false;
  for (const key of REQUIRED_RESPONSE_KEYS) {
    if (!Object.hasOwn(object, key)) return false;
  }
  for (const key of Object.keys(object)) {
    const check = Object.hasOwn(RESPONSE_KEYS, key)
      ? RESPONSE_KEYS[key]
      : undefined;
    if (check === undefined || !check(object[key])) return false;
  }
  return true;
}
