/**
 * Whether a socket may become a call: the address allowlist and the
 * secret before anything else, then room for it (not draining, under
 * `maxCalls`, under `maxCallsPerAddress` for its address). Every refusal
 * is counted and logged, a bounded number of lines per event.
 *
 * @module
 */
import { sameBytes } from "./constant_time.ts";
import { createIpAllowlist } from "./ip_allowlist.ts";
import type { LogFields, Logger } from "./log.ts";
import type { RefusalReason, ServerMetrics } from "./metrics.ts";
import { createRepeatLimitedLogger } from "./repeat_limited_log.ts";

/** Addresses `allowLoopback` adds to the allowlist. */
const LOOPBACK = ["127.0.0.0/8", "::1"];

/**
 * Retell's published address (PROTOCOL.md §1.3): every Retell call comes
 * from it, so the per-address cap never applies to it.
 */
const RETELL_ADDRESS = "100.20.5.228";

/** Options of {@linkcode createAdmission}, settled by the server. */
export interface AdmissionOptions {
  /** IPs and CIDR ranges that may open a call; `*` is everyone. */
  allowedIps: readonly string[];
  /** Also accept 127.0.0.0/8 and ::1. */
  allowLoopback: boolean;
  /** What the socket URL must carry; empty is no secret. */
  wsSecret: string;
  /** Live calls held at once. */
  maxCalls: number;
  /** Live calls one address holds at once, Retell's exempt; 0 is no cap. */
  maxCallsPerAddress: number;
  /** The live calls, for the `maxCalls` cap. */
  calls: ReadonlySet<unknown>;
  /** Where refusals are counted. */
  metrics: ServerMetrics;
  /** Where refusals, repeat-limited, and the allowlist warnings go. */
  log: Logger;
}

/** Who is asking for a call. */
export interface Caller {
  /** The call id from the path. */
  callId: string;
  /** The client address, after `trustProxy`. */
  address: string;
  /** The address of the socket's peer. */
  peer: string;
}

/** A socket turned away: what to count, log and answer. */
export interface Refusal {
  /** The `reason` label of `retell_connections_refused_total`. */
  reason: RefusalReason;
  /** The log event. */
  event: string;
  /** The log fields. */
  fields: LogFields;
  /** The HTTP status. */
  status: number;
  /** The response body. */
  body: string;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/** The gates of {@linkcode createAdmission}; a refusal comes back as its response. */
export interface Admission {
  /** Whether a secret is set, so the path may carry it before the call id. */
  readonly secretConfigured: boolean;
  /**
   * The first gate, before the method and the upgrade are looked at: the
   * address, then the secret `presented` (the path's or the `token`
   * query parameter's, empty when none).
   */
  checkCaller(caller: Caller, presented: string): Response | undefined;
  /** The second gate, just before the upgrade: draining, and the caps. */
  checkRoom(caller: Caller): Response | undefined;
  /** Counts an accepted call against its address, until `release`. */
  admit(address: string): void;
  /** An accepted call from `address` has ended. */
  release(address: string): void;
  /** Counts and logs `refusal`, and answers it. */
  refuse(refusal: Refusal): Response;
  /** From now on, `checkRoom` refuses every socket with 503. */
  startDraining(): void;
  /** Whether `startDraining` was called. */
  isDraining(): boolean;
  /** Logs the count of refusals not yet logged one by one. */
  flush(): void;
}

/**
 * Creates the gates a socket passes before it is upgraded, and warns once
 * when the allowlist is open to everyone or to no one.
 *
 * @param options The settled settings, the live calls and where to report.
 * @returns The gates.
 * @throws {TypeError} When an allowlist rule cannot be parsed.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const { maxCalls, maxCallsPerAddress, calls, metrics, log } = options;
  const rules = [...options.allowedIps];
  if (options.allowLoopback) rules.push(...LOOPBACK);
  const isAllowed = createIpAllowlist(rules);
  const isRetell = createIpAllowlist([RETELL_ADDRESS]);
  const encoder = new TextEncoder();
  const secret = encoder.encode(options.wsSecret);
  /** Live calls by client address, for the per-address cap. */
  const callsByAddress = new Map<string, number>();
  let draining = false;
  // A flood of refused connections writes a few lines and a count.
  const refusalLog = createRepeatLimitedLogger(log);

  if (rules.includes("*")) {
    log.warn("allowlist_open", {
      reason: 'ALLOWED_IPS contains "*": every address may open a call',
    });
  } else if (rules.length === 0) {
    log.warn("allowlist_empty", {
      reason: "No address may open a call: set ALLOWED_IPS",
    });
  }

  function refuse(refusal: Refusal): Response {
    metrics.connectionsRefused.inc({ reason: refusal.reason });
    refusalLog.warn(refusal.event, refusal.fields);
    return new Response(refusal.body, {
      status: refusal.status,
      ...(refusal.headers && { headers: refusal.headers }),
    });
  }

  function checkCaller(
    { callId, address, peer }: Caller,
    presented: string,
  ): Response | undefined {
    if (!isAllowed(address)) {
      return refuse({
        reason: "address",
        event: "connection_refused",
        fields: { reason: "address", call_id: callId, address, peer },
        status: 403,
        body: "Forbidden\n",
      });
    }
    if (secret.length > 0 && !sameBytes(encoder.encode(presented), secret)) {
      return refuse({
        reason: "secret",
        event: "connection_refused",
        // Nothing from the URL: it may hold the secret, or a guess at it.
        fields: { reason: "secret", address, peer },
        status: 403,
        body: "Forbidden\n",
      });
    }
  }

  function checkRoom({ callId, address }: Caller): Response | undefined {
    if (draining) {
      return refuse({
        reason: "draining",
        event: "connection_refused_draining",
        fields: { call_id: callId, address },
        status: 503,
        body: "Service Unavailable: shutting down\n",
      });
    }
    if (calls.size >= maxCalls) {
      return refuse({
        reason: "capacity",
        event: "connection_refused_capacity",
        fields: { call_id: callId, address, max_calls: maxCalls },
        status: 503,
        body: "Service Unavailable: at capacity\n",
        headers: { "retry-after": "1" },
      });
    }
    const fromAddress = callsByAddress.get(address) ?? 0;
    if (
      maxCallsPerAddress > 0 && fromAddress >= maxCallsPerAddress &&
      !isRetell(address)
    ) {
      return refuse({
        reason: "address_limit",
        event: "connection_refused_address_limit",
        fields: {
          call_id: callId,
          address,
          max_calls_per_address: maxCallsPerAddress,
        },
        status: 429,
        body: "Too Many Requests: too many calls from this address\n",
        headers: { "retry-after": "1" },
      });
    }
  }

  function admit(address: string): void {
    callsByAddress.set(address, (callsByAddress.get(address) ?? 0) + 1);
  }

  function release(address: string): void {
    const left = (callsByAddress.get(address) ?? 1) - 1;
    if (left > 0) callsByAddress.set(address, left);
    else callsByAddress.delete(address);
  }

  return {
    secretConfigured: secret.length > 0,
    checkCaller,
    checkRoom,
    admit,
    release,
    refuse,
    startDraining: () => {
      draining = true;
    },
    isDraining: () => draining,
    flush: () => refusalLog.flush(),
  };
}
