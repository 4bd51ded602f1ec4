/**
 * A hand-written check of the events the server sends many times a call:
 * a `response` frame with nothing but its id, text and completeness, and a
 * `ping_pong` echo. The same rules as their zod schemas in
 * `_outbound_schemas.ts`, without zod's generic machinery, which costs a
 * few microseconds a frame under load. It only ever accepts; an event it
 * does not accept goes to the schema, which says why it fails.
 * `tests/protocol/outbound_fast_test.ts` holds it to the schemas with
 * generated valid and mutated events.
 *
 * @module
 */

/**
 * Whether `event` is a plain object (its prototype `Object.prototype`)
 * whose enumerable keys are exactly `count` of `allowed`'s: what the
 * strict schemas accept, and what `JSON.stringify` writes.
 */
function hasExactKeys(
  event: object,
  count: number,
  allowed: (key: string) => boolean,
): boolean {
  if (Object.getPrototypeOf(event) !== Object.prototype) return false;
  let seen = 0;
  for (const key in event) {
    if (!allowed(key)) return false;
    seen++;
  }
  return seen === count;
}

function isResponseKey(key: string): boolean {
  return key === "response_type" || key === "response_id" ||
    key === "content" || key === "content_complete";
}

function isPingPongKey(key: string): boolean {
  return key === "response_type" || key === "timestamp";
}

/**
 * Whether `event` is a valid `response` frame without action flags, or a
 * valid `ping_pong` frame: true only when the zod schema would accept it
 * too. False says nothing: the schema decides then.
 *
 * @param event The event about to be sent.
 * @returns True when it is one of the two and valid.
 */
export function isValidHotOutbound(event: object): boolean {
  const fields = event as Record<string, unknown>;
  const type = fields.response_type;
  if (type === "response") {
    const id = fields.response_id;
    return typeof id === "number" && Number.isSafeInteger(id) && id >= 0 &&
      typeof fields.content === "string" &&
      typeof fields.content_complete === "boolean" &&
      hasExactKeys(event, 4, isResponseKey);
  }
  if (type === "ping_pong") {
    const timestamp = fields.timestamp;
    return typeof timestamp === "number" && Number.isFinite(timestamp) &&
      hasExactKeys(event, 2, isPingPongKey);
  }
  return false;
}
