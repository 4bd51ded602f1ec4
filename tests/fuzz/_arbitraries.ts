/**
 * fast-check arbitraries for the frames both sides of the Retell socket
 * send: well-formed events built from the real shapes (PROTOCOL.md §3,
 * §4), and the same events mutated (a field dropped, retyped or renamed,
 * the text cut or spliced), so a property sees frames close to valid as
 * well as noise.
 */
import fc from "fast-check";

/** Bounds shared by the fuzz properties: each stays well under 5 s. */
export const FUZZ_RUNS = 500;

const ROLES = [
  "agent",
  "user",
  "system",
  "transfer_target",
  "tool_call_invocation",
];

const word = fc.record({
  word: fc.string({ maxLength: 8 }),
  start: fc.double({ noNaN: true, noDefaultInfinity: true }),
  end: fc.double({ noNaN: true, noDefaultInfinity: true }),
}, { requiredKeys: [] });

/** A transcript utterance, sometimes with a role or field Retell might add. */
export const utterance: fc.Arbitrary<Record<string, unknown>> = fc.record({
  role: fc.constantFrom(...ROLES),
  content: fc.string({ maxLength: 40 }),
  words: fc.array(word, { maxLength: 3 }),
  metadata: fc.object({ maxDepth: 1, maxKeys: 2 }),
}, { requiredKeys: ["role", "content"] });

const transcript = fc.array(utterance, { maxLength: 4 });

/** A response id as Retell sends them, with the odd extreme. */
export const responseId: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 20 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(-1, 2 ** 31, Number.MAX_SAFE_INTEGER),
  },
);

/** Each event Retell sends (§3), well formed. */
export const inboundEvent: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({
    interaction_type: fc.constant("ping_pong"),
    timestamp: fc.integer({ min: 0 }),
  }),
  fc.record({
    interaction_type: fc.constant("call_details"),
    call: fc.record({
      call_id: fc.string({ maxLength: 12 }),
      call_type: fc.constantFrom("phone_call", "web_call"),
      metadata: fc.object({ maxDepth: 1, maxKeys: 2 }),
      retell_llm_dynamic_variables: fc.dictionary(
        fc.string({ maxLength: 6 }),
        fc.string({ maxLength: 6 }),
        { maxKeys: 2 },
      ),
    }, { requiredKeys: [] }),
  }),
  fc.record({
    interaction_type: fc.constant("update_only"),
    transcript,
    turntaking: fc.constantFrom("agent_turn", "user_turn"),
  }, { requiredKeys: ["interaction_type", "transcript"] }),
  fc.record({
    interaction_type: fc.constantFrom("response_required", "reminder_required"),
    response_id: responseId,
    transcript,
    transcript_with_tool_calls: fc.array(utterance, { maxLength: 2 }),
    timestamp: fc.integer({ min: 0 }),
  }, {
    requiredKeys: ["interaction_type", "response_id", "transcript"],
  }),
);

/** Each event the server sends (§4), well formed. */
export const outboundEvent: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({
    response_type: fc.constant("config"),
    config: fc.record({
      auto_reconnect: fc.boolean(),
      call_details: fc.boolean(),
      transcript_with_tool_calls: fc.boolean(),
    }, { requiredKeys: [] }),
  }),
  fc.record({
    response_type: fc.constantFrom("response", "agent_interrupt"),
    response_id: responseId,
    interrupt_id: responseId,
    content: fc.string({ maxLength: 30 }),
    content_complete: fc.boolean(),
    no_interruption_allowed: fc.boolean(),
    end_call: fc.boolean(),
    transfer_number: fc.string({ maxLength: 12 }),
    digit_to_press: fc.string({ maxLength: 2 }),
  }, { requiredKeys: ["response_type", "content", "content_complete"] }),
  fc.record({
    response_type: fc.constant("ping_pong"),
    timestamp: fc.integer({ min: 0 }),
  }),
  fc.record({
    response_type: fc.constant("update_agent"),
    agent_config: fc.record({
      responsiveness: fc.double(),
      interruption_sensitivity: fc.double(),
      reminder_trigger_ms: fc.integer(),
      reminder_max_count: fc.integer(),
    }, { requiredKeys: [] }),
  }),
  fc.record({
    response_type: fc.constantFrom("tool_call_invocation", "tool_call_result"),
    tool_call_id: fc.string({ maxLength: 8 }),
    name: fc.string({ maxLength: 8 }),
    arguments: fc.json({ maxDepth: 1 }),
    content: fc.string({ maxLength: 8 }),
    successful: fc.boolean(),
  }, { requiredKeys: ["response_type", "tool_call_id"] }),
  fc.record({
    response_type: fc.constant("metadata"),
    metadata: fc.jsonValue({ maxDepth: 2 }),
  }),
);

/** Keys a hostile or sloppy sender might add. */
const oddKey = fc.oneof(
  fc.string({ maxLength: 10 }),
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "toString",
    "interaction_type",
    "response_type",
    "response_id",
    "transcript",
  ),
);

/** Values of any JSON type, and a few that trip naive code. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, "", -0, 1e308, "true", [], {}, "__proto__"),
);

type Mutation = (event: Record<string, unknown>) => Record<string, unknown>;

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>((event) => event),
  fc.nat().map<Mutation>((n) => (event) => {
    const keys = Object.keys(event);
    if (keys.length === 0) return event;
    const { [keys[n % keys.length]!]: _dropped, ...rest } = event;
    return rest;
  }),
  fc.tuple(fc.nat(), oddValue).map<Mutation>(([n, value]) => (event) => {
    const keys = Object.keys(event);
    if (keys.length === 0) return event;
    return { ...event, [keys[n % keys.length]!]: value };
  }),
  fc.tuple(oddKey, oddValue).map<Mutation>(([key, value]) => (event) => {
    const copy = { ...event };
    Object.defineProperty(copy, key, {
      value,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    return copy;
  }),
);

/** Text edits applied after serialising: cut, splice, duplicate, wrap. */
const textEdit: fc.Arbitrary<(text: string) => string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant((text: string) => text) },
  fc.nat().map((n) => (text: string) => text.slice(0, n % (text.length + 1))),
  fc.tuple(fc.nat(), fc.string({ maxLength: 4, unit: "binary" })).map(
    ([n, insert]) => (text: string) => {
      const at = n % (text.length + 1);
      return text.slice(0, at) + insert + text.slice(at);
    },
  ),
  fc.constant((text: string) => `[${text}]`),
  fc.constant((text: string) => `${text}${text}`),
  fc.constant((text: string) => `\uFEFF${text}`),
);

/**
 * Frames close to `events`: one of them, mutated zero to three times,
 * serialised, then maybe cut or spliced as text.
 */
export function mutatedFrame(
  events: fc.Arbitrary<Record<string, unknown>>,
): fc.Arbitrary<string> {
  return fc.tuple(events, fc.array(mutation, { maxLength: 3 }), textEdit).map(
    ([event, mutations, edit]) =>
      edit(JSON.stringify(mutations.reduce((e, m) => m(e), event))),
  );
}
