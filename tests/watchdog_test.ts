import assert from "node:assert/strict";
import { createWatchdog, type Watchdog } from "../src/watchdog.ts";
import { waitUntil } from "./_support/wait.ts";

/** Bounded wait for an expiry that should come. */
const FIRE_TIMEOUT_MS = 2_000;

/** A watchdog whose expiries are recorded, with a bounded wait for them. */
function watched() {
  const firings: number[] = [];
  const waiters = new Set<() => void>();
  const watchdog = createWatchdog(() => {
    firings.push(performance.now());
    for (const waiter of [...waiters]) waiter();
  });
  return {
    watchdog,
    firings,
    /** Resolves once the watchdog has fired `count` times in all. */
    fired(count = 1): Promise<void> {
      return waitUntil(
        () => firings.length >= count,
        waiters,
        FIRE_TIMEOUT_MS,
        () =>
          `The watchdog fired ${firings.length} times within ${FIRE_TIMEOUT_MS} ms, not ${count}`,
      );
    },
  };
}

/** Waits out `ms`, to show that nothing happens in that time. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `body` while counting the timers it starts with `setTimeout`. */
function countTimers(body: () => void): number {
  const realSetTimeout = globalThis.setTimeout;
  let count = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    count++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  try {
    body();
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  return count;
}

Deno.test("createWatchdog() fires once after the deadline", async () => {
  const { watchdog, firings, fired } = watched();
  const armedAt = performance.now();
  watchdog.arm(30);
  await fired();
  assert.ok(
    firings[0]! - armedAt >= 30,
    `fired after ${firings[0]! - armedAt} ms`,
  );
  await pause(60);
  assert.equal(firings.length, 1);
});

Deno.test("createWatchdog() can be armed again after it fired", async () => {
  const { watchdog, firings, fired } = watched();
  watchdog.arm(10);
  await fired(1);
  const rearmedAt = performance.now();
  watchdog.arm(20);
  await fired(2);
  assert.ok(firings[1]! - rearmedAt >= 20);
});

Deno.test("createWatchdog() re-armed later fires from the last arm", async () => {
  const { watchdog, firings, fired } = watched();
  watchdog.arm(100);
  await pause(50);
  const lastArmedAt = performance.now();
  assert.equal(firings.length, 0, "fired before it was re-armed");
  for (let i = 0; i < 20; i++) watchdog.arm(100);
  await fired();
  assert.ok(
    firings[0]! - lastArmedAt >= 100,
    `fired ${firings[0]! - lastArmedAt} ms after the last arm`,
  );
});

Deno.test("createWatchdog() starts no timer for a later deadline", () => {
  let watchdog: Watchdog | undefined;
  try {
    const timers = countTimers(() => {
      watchdog = createWatchdog(() => {});
      watchdog.arm(1_000);
      for (let i = 0; i < 100; i++) watchdog.arm(1_000);
    });
    assert.equal(timers, 1);
  } finally {
    watchdog?.stop();
  }
});

Deno.test("createWatchdog() moves its timer forward for an earlier deadline", async (t) => {
  const { watchdog, firings, fired } = watched();
  try {
    await t.step("with one new timer", () => {
      watchdog.arm(10_000);
      assert.equal(countTimers(() => watchdog.arm(30)), 1);
    });

    await t.step("and fires at the earlier deadline", async () => {
      await fired();
      assert.equal(firings.length, 1);
    });
  } finally {
    watchdog.stop();
  }
});

Deno.test("createWatchdog() stop cancels the deadline", async (t) => {
  const { watchdog, firings, fired } = watched();

  await t.step("before it passes", async () => {
    watchdog.arm(20);
    watchdog.stop();
    await pause(60);
    assert.equal(firings.length, 0);
  });

  await t.step("after re-arms", async () => {
    watchdog.arm(20);
    watchdog.arm(40);
    watchdog.stop();
    await pause(80);
    assert.equal(firings.length, 0);
  });

  await t.step("and leaves it ready to be armed again", async () => {
    watchdog.arm(10);
    await fired();
    assert.equal(firings.length, 1);
  });
});
