/**
 * The session under random sequences of frames over a real socket: valid
 * events with response ids in any order, the same events mutated, garbage
 * text and binary frames. The conformance checker of the simulator is the
 * oracle for the protocol rules; on top of it each run holds the server to
 * the strict form of the stale-id rule (§5.1): once the server has
 * certainly read a request (the echo of a ping sent after it came back),
 * no frame under an older id may follow.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { CallStore } from "../../src/call_store/call_store.ts";
import { createMemoryCallStore } from "../../src/call_store/memory.ts";
import { parseInbound } from "../../src/protocol/inbound.ts";
import type { Responder } from "../../src/responder.ts";
import { createDummyResponder } from "../../src/responders/dummy.ts";
import { createConformanceChecker } from "../../src/simulator/conformance.ts";
import { streamingResponder } from "../_support/responders.ts";
import { startTestServer, type TestServer } from "../_support/server.ts";
import { LOG_REASON_MAX_CHARS } from "../../src/log.ts";
import { inboundEvent, mutatedFrame } from "./_arbitraries.ts";
import { openRawCall } from "./_raw_call.ts";

/** Longest log line allowed: the capped reason and a few short fields. */
const LOG_LINE_BOUND = LOG_REASON_MAX_CHARS + 400;

/** Ping timestamps at and above this mark the point the server has read to. */
const MARKER_BASE = 10_000_000_000_000;

/** How long a run waits for the live response, or a ping echo. */
const WAIT_MS = 3_000;

/** What the fake Retell does next. */
type Action =
  | { kind: "text"; text: string }
  | { kind: "binary"; bytes: Uint8Array }
  | { kind: "sync" };

/** One run: whether to wait for the greeting first, then the actions. */
interface Case {
  awaitBegin: boolean;
  actions: Action[];
}

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: inboundEvent.map((event) => ({
      kind: "text" as const,
      text: JSON.stringify(event),
    })),
  },
  {
    weight: 3,
    arbitrary: mutatedFrame(inboundEvent).map((text) => ({
      kind: "text" as const,
      text,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.string({ maxLength: 40, unit: "binary" }).map((text) => ({
      kind: "text" as const,
      text,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.uint8Array({ maxLength: 32 }).map((bytes) => ({
      kind: "binary" as const,
      bytes,
    })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: "sync" as const }) },
);

const callCase: fc.Arbitrary<Case> = fc.record({
  awaitBegin: fc.boolean(),
  actions: fc.array(action, { maxLength: 16 }),
});

/**
 * Plays one case on a new call and returns every rule the server broke, in
 * words; empty when it kept them all.
 */
async function play(
  server: TestServer,
  callId: string,
  testCase: Case,
): Promise<string[]> {
  const problems: string[] = [];
  const checker = createConformanceChecker({ responseDeadlineMs: 60_000 });
  /** The newest id the server takes: the begin message's 0 or a request's. */
  let latest = 0;
  /** The newest request id the server has certainly read. */
  let confirmed = 0;
  const markers = new Map<number, number>();
  const completed = new Set<number>();
  let beginSeen = false;
  let requestBeforeBegin = false;

  const call = await openRawCall(server.url(callId), (data) => {
    if (typeof data !== "string") {
      problems.push("The server sent a binary frame");
    }
    const { event } = checker.receive(data);
    if (event?.response_type === "ping_pong") {
      const id = markers.get(event.timestamp);
      if (id !== undefined) confirmed = Math.max(confirmed, id);
    }
    if (event?.response_type === "response") {
      const id = event.response_id;
      if (id === 0) beginSeen = true;
      if (id < confirmed) {
        problems.push(
          `Response ${id} was sent after the server had read request ${confirmed}`,
        );
      }
      if (event.content_complete) completed.add(id);
    }
  });

  /** Sends a ping whose echo shows the server has read up to here. */
  function mark(): number {
    const timestamp = MARKER_BASE + markers.size;
    markers.set(timestamp, latest);
    const ping = { interaction_type: "ping_pong" as const, timestamp };
    checker.sent(ping);
    call.socket.send(JSON.stringify(ping));
    return timestamp;
  }
  async function sync(): Promise<void> {
    const timestamp = mark();
    await call.waitFor(
      () => call.frames.some((data) => echoes(data, timestamp)),
      WAIT_MS,
      () => `No echo of ping ${timestamp} within ${WAIT_MS} ms`,
    );
  }

  if (testCase.awaitBegin) {
    await call.waitFor(
      () => completed.has(0),
      WAIT_MS,
      () => `No begin message within ${WAIT_MS} ms`,
    );
  }
  for (const next of testCase.actions) {
    if (next.kind === "binary") {
      call.socket.send(next.bytes);
    } else if (next.kind === "sync") {
      await sync();
    } else {
      call.socket.send(next.text);
      const parsed = parseInbound(next.text);
      if (!parsed.ok) continue;
      checker.sent(parsed.event);
      if (!("response_id" in parsed.event)) continue;
      if (!beginSeen) requestBeforeBegin = true;
      latest = Math.max(latest, parsed.event.response_id);
      mark();
    }
  }
  // Wait until quiet: the live response complete, and every frame read.
  try {
    await call.waitFor(
      () => completed.has(latest),
      WAIT_MS,
      () => `Response ${latest}, the live one, never completed`,
    );
    await sync();
  } catch (error) {
    problems.push((error as Error).message);
  }
  call.socket.close(1000);
  await call.closed;
  checker.closed(1000, false);
  for (const violation of checker.violations) {
    // A request before the greeting owns the floor: the server skips it.
    if (violation.code === "no_begin" && requestBeforeBegin) continue;
    problems.push(`${violation.code}: ${violation.message}`);
  }
  if (server.logs.longestLine > LOG_LINE_BOUND) {
    problems.push(`A log line of ${server.logs.longestLine} characters`);
  }
  return problems;
}

function echoes(data: unknown, timestamp: number): boolean {
  return typeof data === "string" &&
    data.includes(`"response_type":"ping_pong"`) &&
    data.includes(`"timestamp":${timestamp}`);
}

/**
 * A store whose every answer takes a few ms, as a remote one does, and
 * which can wait for the answers still on their way.
 */
function slowStore(
  store: CallStore,
  delayMs: number,
): { store: CallStore; settled(): Promise<void> } {
  const inFlight = new Set<Promise<unknown>>();
  const later = <T>(value: Promise<T>) => {
    const answer = new Promise<T>((resolve, reject) =>
      setTimeout(() => value.then(resolve, reject), delayMs)
    );
    const settled = answer.catch(() => {}).finally(() =>
      inFlight.delete(settled)
    );
    inFlight.add(settled);
    return answer;
  };
  return {
    store: {
      get: (callId) => later(store.get(callId)),
      markGreeted: (callId) => later(store.markGreeted(callId)),
      saveDetails: (callId, details) =>
        later(store.saveDetails(callId, details)),
      touch: (callId) => later(store.touch(callId)),
      claimToolRun: (...args) => later(store.claimToolRun(...args)),
      getToolRun: (...args) => later(store.getToolRun(...args)),
      saveToolResult: (...args) => later(store.saveToolResult(...args)),
      close: () => store.close(),
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
  };
}

/** Runs the property against one server; `runs` calls, under 5 s in all. */
async function fuzzSession(
  label: string,
  responder: Responder,
  store: CallStore | undefined,
  runs: number,
): Promise<void> {
  await using server = startTestServer({
    responder,
    ...(store && { callStore: store }),
  });
  let calls = 0;
  await fc.assert(
    fc.asyncProperty(callCase, async (testCase) => {
      const problems = await play(server, `fuzz-${label}-${calls++}`, testCase);
      assert.deepEqual(problems, []);
    }),
    { numRuns: runs, interruptAfterTimeLimit: 5_000 },
  );
  assert.ok(calls > 0);
}

Deno.test("session keeps the protocol under random frames, streaming replies", async () => {
  await fuzzSession("stream", streamingResponder(), undefined, 60);
});

Deno.test("session keeps the protocol under random frames, one-frame replies", async () => {
  await fuzzSession("dummy", createDummyResponder(), undefined, 40);
});

Deno.test("session keeps the protocol under random frames while the store answers slowly", async () => {
  const slow = slowStore(createMemoryCallStore({ ttlMs: 60_000 }), 5);
  await fuzzSession("store", streamingResponder(), slow.store, 40);
  // The last calls' closing writes are still on their way.
  await slow.settled();
});
