/**
 * The response-id rules (§5.1, §5.2): the requests of one call, where each
 * response stands, and what the server breaks by answering an id Retell
 * did not ask for, one it no longer wants, one already complete, or by
 * leaving the latest open. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import type {
  ReminderRequiredRequest,
  ResponseRequiredRequest,
} from "../protocol/inbound.ts";
import type { ResponseEvent } from "../protocol/outbound.ts";
import { responseName, seconds } from "./_wording.ts";
import {
  addFrame,
  isOpen,
  openResponse,
  type ResponseRecord,
  type ResponseState,
  snapshot,
} from "./response_record.ts";
import type { Fault, ViolationCode } from "./violation.ts";

/** The responses of one call, as the simulator asked for them. */
export interface ResponseLedger {
  /** The newest id requested; 0, the begin message, before any request. */
  readonly latest: number;
  /**
   * A snapshot of one response.
   *
   * @param responseId The id.
   * @returns The response, or undefined when it was never requested.
   */
  response(responseId: number): ResponseRecord | undefined;
  /**
   * The simulator asked for a response under a newer id: it opens, and
   * supersedes the one still open. An older or repeated id changes nothing.
   *
   * @param request The request sent.
   * @returns The response it superseded, if one was still open.
   */
  requested(
    request: ResponseRequiredRequest | ReminderRequiredRequest,
  ): ResponseRecord | undefined;
  /**
   * A frame under this id arrived, valid or not: under a requested id, it
   * shows the server has read that request and every older one, which ends
   * their in-flight grace.
   *
   * @param responseId The frame's `response_id`, when it has one.
   */
  heard(responseId: number | undefined): void;
  /**
   * A response frame Retell reads: the rule it breaks, once per id, or the
   * response it adds to when Retell speaks it (the latest request, still
   * open).
   *
   * @param event The frame.
   * @returns The fault, or the response after the frame; both undefined
   * when Retell drops it without blame (in flight, or after an interrupt).
   */
  frame(event: ResponseEvent): {
    fault: Fault | undefined;
    spoken: ResponseRecord | undefined;
  };
  /**
   * An `agent_interrupt` cancels the response in flight (§4.3).
   *
   * @returns The response it cancelled, if one was still open.
   */
  interrupted(): ResponseRecord | undefined;
  /**
   * The latest response, when it has stayed open past the deadline, or at
   * the close; reported once.
   *
   * @param atClose Whether the socket has closed (the deadline no longer matters).
   * @returns Its fault, if any.
   */
  due(atClose: boolean): Fault | undefined;
  /** The socket closed: every open response is closed. */
  close(): void;
}

/** Options of {@linkcode createResponseLedger}. */
export interface ResponseLedgerOptions {
  /** How long a response may stay open. */
  responseDeadlineMs: number;
  /** How long frames under an older id are forgiven after a newer request. */
  inFlightGraceMs: number;
  /** The checker's clock. */
  now: () => number;
}

/**
 * Creates the response ledger of one call, with the begin message (0)
 * requested as the socket opens, now.
 *
 * @param options Deadlines and the clock.
 * @returns The ledger.
 */
export function createResponseLedger(
  options: ResponseLedgerOptions,
): ResponseLedger {
  const { now, inFlightGraceMs } = options;
  const responses = new Map<number, ResponseState>([
    [0, openResponse(0, "begin", now(), undefined)],
  ]);
  /** `code:id` of the violations already reported. */
  const reported = new Set<string>();
  let latest = 0;
  /** The newest id the server is held to: a request once it is answered or its grace is over. */
  let acknowledged = 0;

  function once(code: ViolationCode, id: number, message: string) {
    const key = `${code}:${id}`;
    if (reported.has(key)) return undefined;
    reported.add(key);
    return { code, message, responseId: id };
  }

  /** Requested ids the server is not held to yet, oldest first. */
  const pending: number[] = [];

  /** Holds the server to each request whose grace is over. */
  function endGrace(): void {
    while (pending.length > 0) {
      const id = pending[0]!;
      const requestedAt = responses.get(id)?.requestedAt ?? -Infinity;
      // Later ids were requested later: their grace is not over either.
      if (now() - requestedAt < inFlightGraceMs) return;
      acknowledged = id;
      pending.shift();
    }
  }

  /** The server answered `id`: it has read that request and every older one. */
  function acknowledge(id: number): void {
    if (!pending.includes(id)) return;
    acknowledged = id;
    while (pending.length > 0 && pending[0]! <= id) pending.shift();
  }

  /** The rule a frame under `id` breaks, if any. */
  function ruleBroken(id: number): Fault | "none" | undefined {
    if (responses.get(id)?.status === "complete") {
      return once(
        "after_complete",
        id,
        id === 0
          ? "The begin message (response 0) was sent again after it was already complete (content_complete: true); Retell ignores it."
          : `Response ${id} was sent after response ${id} was already complete (content_complete: true); Retell ignores it.`,
      );
    }
    if (id > latest) {
      return once(
        "unrequested_response",
        id,
        latest === 0
          ? `Response ${id} was sent, but Retell has not asked for any response yet; before the first request only the begin message (response_id 0) may be sent, and Retell drops the rest.`
          : `Response ${id} was sent, but Retell has only asked for responses up to ${latest}; response_id must be the id of a request, so Retell drops it.`,
      );
    }
    if (id < acknowledged) {
      return once(
        "stale_response",
        id,
        `${
          responseName(id, true)
        } was sent after Retell asked for response ${acknowledged}; Retell accepts content only for the latest request and drops it.`,
      );
    }
    return "none";
  }

  return {
    get latest() {
      return latest;
    },
    response(responseId) {
      const response = responses.get(responseId);
      return response === undefined ? undefined : snapshot(response);
    },
    requested(request) {
      const id = request.response_id;
      if (id <= latest) return undefined;
      // Frames under the older ids may be on their way: the server is held
      // to each request once it answers it or its grace is over, however
      // soon the next request follows.
      endGrace();
      const previous = responses.get(latest);
      let superseded: ResponseRecord | undefined;
      if (previous !== undefined && isOpen(previous)) {
        previous.status = "superseded";
        superseded = snapshot(previous);
      }
      latest = id;
      pending.push(id);
      const isReminder = request.interaction_type === "reminder_required";
      const last = request.transcript.at(-1);
      const said = !isReminder && last !== undefined && last.role !== "agent"
        ? last.content
        : undefined;
      const kind = isReminder ? "reminder" : "response";
      responses.set(id, openResponse(id, kind, now(), said));
      return superseded;
    },
    heard(responseId) {
      endGrace();
      if (responseId !== undefined) acknowledge(responseId);
    },
    frame(event) {
      const id = event.response_id;
      const broken = ruleBroken(id);
      if (broken !== "none") return { fault: broken, spoken: undefined };
      // Retell speaks only the latest request, and only until it ends
      // (§5.1): a frame already in flight, or one after an interrupt, is
      // dropped.
      const response = responses.get(id);
      if (response === undefined || id !== latest || !isOpen(response)) {
        return { fault: undefined, spoken: undefined };
      }
      addFrame(response, event, now());
      return { fault: undefined, spoken: snapshot(response) };
    },
    interrupted() {
      const current = responses.get(latest);
      if (current === undefined || !isOpen(current)) return undefined;
      current.status = "superseded";
      return snapshot(current);
    },
    due(atClose) {
      endGrace();
      const response = responses.get(latest);
      if (response === undefined || !isOpen(response)) return undefined;
      // No begin at all is no_begin's business, not never_completed's.
      if (latest === 0 && response.frames === 0) return undefined;
      const age = now() - response.requestedAt;
      if (!atClose && age <= options.responseDeadlineMs) return undefined;
      return once(
        "never_completed",
        latest,
        neverCompleted(response, age, atClose, options.responseDeadlineMs),
      );
    },
    close() {
      for (const response of responses.values()) {
        if (isOpen(response)) response.status = "closed";
      }
    },
  };
}

/** The words of never_completed for a response open `age` ms. */
function neverCompleted(
  response: ResponseState,
  age: number,
  atClose: boolean,
  deadlineMs: number,
): string {
  const id = response.responseId;
  const what = id === 0 ? "The begin message (response 0)" : `Response ${id}`;
  const since = id !== 0
    ? "the request"
    : atClose
    ? "it opened"
    : "the socket opening";
  const sent = response.frames > 0
    ? "some content arrived but no frame had content_complete: true"
    : "no frame for it arrived";
  return atClose
    ? `${what} was never completed: the socket closed ${
      seconds(age)
    } s after ${since} and ${sent}; the agent stays silent while Retell waits.`
    : `${what} was not completed within ${
      seconds(deadlineMs)
    } s of ${since}: ${sent}, so the agent stays silent while Retell waits.`;
}
