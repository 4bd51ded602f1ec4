/**
 * The fake model of `deno task soak`, in a process of its own so that the
 * load generator's CPU figure is its own: every request gets eight tokens,
 * 15 ms apart. Prints its base URL on one line, then serves until SIGTERM.
 *
 * @module
 */
import { type LlmStep, startFakeLlm } from "../_support/llm_server.ts";

const steps: LlmStep[] = [];
for (let i = 0; i < 8; i++) steps.push({ delayMs: 15 }, { text: `word${i} ` });

await using model = startFakeLlm({
  defaultScript: { steps },
  keepRequests: false,
});
// deno-lint-ignore no-console -- the soak reads the URL from stdout
console.log(model.baseUrl);
await new Promise<void>((resolve) =>
  Deno.addSignalListener("SIGTERM", () => resolve())
);
