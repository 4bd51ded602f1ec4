/**
 * Micro-benchmarks of the server's hot pure functions, each group next to
 * the plain `JSON.parse` / `JSON.stringify` (or `===`) it cannot beat:
 * `deno task bench:micro`. The strict (zod-only) inbound reading sits in the
 * same groups, so a run shows what the hand-written path buys. (Outbound
 * frames had one too, until a run showed zod as fast on a response frame.)
 */
import { createIpAllowlist } from "../../src/ip_allowlist.ts";
import {
  parseInbound,
  parseInboundStrict,
} from "../../src/protocol/inbound.ts";
import {
  createPingPongEvent,
  createResponseEvent,
  encodeOutbound,
  type OutboundEvent,
} from "../../src/protocol/outbound.ts";

function transcript(utterances: number): Record<string, unknown>[] {
  return Array.from({ length: utterances }, (_, i) => ({
    role: i % 2 === 0 ? "user" : "agent",
    content: `utterance ${i}: I would like to change the delivery address`,
  }));
}

for (const utterances of [20, 200]) {
  const group = `inbound update_only, ${utterances} utterances`;
  const text = JSON.stringify({
    interaction_type: "update_only",
    transcript: transcript(utterances),
    turntaking: "agent_turn",
  });
  Deno.bench("JSON.parse", { group, baseline: true }, () => {
    JSON.parse(text);
  });
  Deno.bench("parseInbound", { group }, () => {
    if (!parseInbound(text).ok) throw new Error("Cannot read bench frame");
  });
  Deno.bench("parseInboundStrict (zod)", { group }, () => {
    if (!parseInboundStrict(text).ok) {
      throw new Error("Cannot read bench frame");
    }
  });
}

const response = createResponseEvent({
  response_id: 7,
  content: "I am sorry, can you say that again?",
  content_complete: true,
});
const ping = createPingPongEvent(1767225600000);
const outbound: [string, OutboundEvent][] = [
  ["response", response],
  ["ping_pong", ping],
];
for (const [name, event] of outbound) {
  const group = `outbound ${name}`;
  Deno.bench("JSON.stringify", { group, baseline: true }, () => {
    JSON.stringify(event);
  });
  Deno.bench("encodeOutbound", { group }, () => {
    if (!encodeOutbound(event).ok) throw new Error("Cannot encode bench event");
  });
}

const isAllowed = createIpAllowlist([
  "100.20.5.228",
  "127.0.0.0/8",
  "2001:db8::/32",
]);
const group = "allowlist match";
Deno.bench("string ===", { group, baseline: true }, () => {
  if ("100.20.5.228" !== String(Math.random() < 2 ? "100.20.5.228" : "")) {
    throw new Error("Cannot match");
  }
});
Deno.bench("IPv4 address", { group }, () => {
  if (!isAllowed("100.20.5.228")) throw new Error("Cannot match bench address");
});
Deno.bench("IPv4-mapped IPv6 address", { group }, () => {
  if (!isAllowed("::ffff:100.20.5.228")) {
    throw new Error("Cannot match bench address");
  }
});
Deno.bench("IPv6 address", { group }, () => {
  if (!isAllowed("2001:db8:1::5")) {
    throw new Error("Cannot match bench address");
  }
});
