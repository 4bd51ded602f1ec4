/**
 * Bounded waits for a response of a simulated call to reach a point (its
 * first frame, or its end), settled whenever the call's state changes.
 *
 * @module
 */
import { emptyRecord, type ResponseRecord } from "./response_record.ts";

/** What a wait waits for: a response's first frame, or its end. */
export type WaitUntil = "first_frame" | "complete";

/** The waits of one call. */
export interface ResponseWaits {
  /**
   * Waits until the response reaches `until`, ends, or `timeoutMs` passes.
   * Never rejects.
   *
   * @param responseId The id.
   * @param until What to wait for.
   * @param timeoutMs Longest wait.
   * @returns A snapshot of the response as the wait ends.
   */
  wait(
    responseId: number,
    until: WaitUntil,
    timeoutMs: number,
  ): Promise<ResponseRecord>;
  /** Ends the waits that are over; call it after every change. */
  settle(): void;
  /** Ends every wait, as the call has closed. */
  finishAll(): void;
}

/** A pending wait. */
interface Wait {
  responseId: number;
  until: WaitUntil;
  resolve: (record: ResponseRecord) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Creates the waits of one call.
 *
 * @param lookup Reads a response's record, undefined when never requested.
 * @param isClosed Whether the call has closed.
 * @returns The waits.
 */
export function createResponseWaits(
  lookup: (responseId: number) => ResponseRecord | undefined,
  isClosed: () => boolean,
): ResponseWaits {
  const waits = new Set<Wait>();

  /** The record a wait returns; an id never requested is waiting, or closed. */
  function current(responseId: number): ResponseRecord {
    return lookup(responseId) ??
      emptyRecord(responseId, "response", isClosed() ? "closed" : "waiting");
  }

  function finish(wait: Wait): void {
    clearTimeout(wait.timer);
    waits.delete(wait);
    wait.resolve(current(wait.responseId));
  }

  return {
    wait(responseId, until, timeoutMs) {
      const record = lookup(responseId);
      if (record === undefined || isOver(record, until) || isClosed()) {
        return Promise.resolve(current(responseId));
      }
      return new Promise((resolve) => {
        const wait: Wait = {
          responseId,
          until,
          resolve,
          timer: setTimeout(() => finish(wait), timeoutMs),
        };
        waits.add(wait);
      });
    },
    settle() {
      for (const wait of waits) {
        const record = lookup(wait.responseId);
        if (record !== undefined && isOver(record, wait.until)) finish(wait);
      }
    },
    finishAll() {
      for (const wait of waits) finish(wait);
    },
  };
}

/** Whether a wait `until` is over for this response. */
function isOver(record: ResponseRecord, until: WaitUntil): boolean {
  if (record.status === "complete" || record.status === "superseded") {
    return true;
  }
  if (record.status === "closed") return true;
  return until === "first_frame" && record.frames > 0;
}
