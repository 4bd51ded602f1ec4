/**
 * How the conformance rules name responses and times in their messages.
 *
 * @module
 */

/**
 * "Response 3" or "response 3"; 0 is named as the begin message.
 *
 * @param id The response id.
 * @param capital Whether the name starts a sentence.
 * @returns The name.
 */
export function responseName(id: number, capital = false): string {
  if (id === 0) {
    return `${capital ? "The" : "the"} begin message (response 0)`;
  }
  return `${capital ? "Response" : "response"} ${id}`;
}

/**
 * Milliseconds as seconds with at most one decimal: 5000 → "5", 4250 → "4.3".
 *
 * @param ms The milliseconds.
 * @returns The seconds, as text.
 */
export function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
