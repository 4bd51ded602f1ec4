/**
 * The keepalive rules (§4.4, §5.7): every ping the simulator sends as
 * Retell must be echoed once, with its timestamp unchanged, within the
 * deadline. Section numbers refer to `PROTOCOL.md`.
 *
 * @module
 */
import { seconds } from "./_wording.ts";
import type { Fault } from "./violation.ts";

/** The pings of one call, sent and echoed. */
export interface PingLedger {
  /**
   * The simulator sent a ping: its echo deadline starts now.
   *
   * @param timestamp The ping's timestamp.
   */
  sent(timestamp: number): void;
  /**
   * The server echoed a timestamp.
   *
   * @param timestamp The echo's timestamp.
   * @returns The round trip when it echoes a ping sent, and the rule it breaks, if any.
   */
  echoed(timestamp: number): {
    rttMs: number | undefined;
    fault: Fault | undefined;
  };
  /**
   * Pings past their deadline without an echo, each reported once.
   *
   * @returns Their faults.
   */
  due(): Fault[];
}

/** A ping the simulator sent that has not been echoed yet. */
interface Ping {
  timestamp: number;
  sentAt: number;
  /** Whether `ping_missing` was already reported for it. */
  missing: boolean;
}

/**
 * Creates the ping ledger of one call.
 *
 * @param deadlineMs How long an echo may take.
 * @param now The checker's clock.
 * @returns The ledger.
 */
export function createPingLedger(
  deadlineMs: number,
  now: () => number,
): PingLedger {
  /** Pings not echoed yet, oldest first. */
  const unanswered: Ping[] = [];
  /** Timestamps echoed at least once, to tell a duplicate from an unknown echo. */
  const echoed = new Set<number>();
  return {
    sent(timestamp) {
      unanswered.push({ timestamp, sentAt: now(), missing: false });
    },
    echoed(timestamp) {
      const index = unanswered.findIndex((p) => p.timestamp === timestamp);
      if (index === -1) {
        return {
          rttMs: undefined,
          fault: {
            code: "ping_unknown",
            message: echoed.has(timestamp)
              ? `The server echoed the ping with timestamp ${timestamp} a second time; send exactly one ping_pong per ping.`
              : `The server sent a ping_pong with timestamp ${timestamp}, which matches no ping the simulator sent; echo Retell's timestamp unchanged.`,
          },
        };
      }
      const [ping] = unanswered.splice(index, 1) as [Ping];
      echoed.add(timestamp);
      const delay = now() - ping.sentAt;
      const rttMs = Math.round(delay * 10) / 10;
      // Already reported as missing: a late arrival is not a second violation.
      if (ping.missing || delay <= deadlineMs) {
        return { rttMs, fault: undefined };
      }
      return {
        rttMs,
        fault: {
          code: "ping_late",
          message: `The ping with timestamp ${timestamp} was echoed ${
            seconds(delay - deadlineMs)
          } s late (${seconds(delay)} s after it was sent, deadline ${
            seconds(deadlineMs)
          } s); Retell closes the socket and reconnects after 5 s without an echo.`,
        },
      };
    },
    due() {
      const at = now();
      const faults: Fault[] = [];
      for (const ping of unanswered) {
        if (ping.missing || at - ping.sentAt <= deadlineMs) continue;
        ping.missing = true;
        faults.push({
          code: "ping_missing",
          message:
            `The ping with timestamp ${ping.timestamp} was not echoed within ${
              seconds(deadlineMs)
            } s; Retell closes the socket and reconnects after 5 s without a ping_pong.`,
        });
      }
      return faults;
    },
  };
}
