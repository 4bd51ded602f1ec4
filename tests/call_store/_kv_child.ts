/**
 * Run as its own process by `kv_test.ts`: opens the KV file a previous
 * process wrote, as a restarted server would, and prints what it finds as
 * one JSON line. Arguments: the file, the call id.
 */
import { createKvCallStore } from "../../src/call_store/kv.ts";

const [path, callId] = Deno.args;
if (path === undefined || callId === undefined) {
  throw new TypeError("Cannot read the call: give the KV file and the call id");
}
const store = createKvCallStore(await Deno.openKv(path), { ttlMs: 3_600_000 });
const found = {
  record: await store.get(callId),
  done: await store.claimToolRun(callId, "done"),
  running: await store.claimToolRun(callId, "running"),
  fresh: await store.claimToolRun(callId, "fresh"),
};
await store.close();
// deno-lint-ignore no-console -- the parent process reads this line
console.log(JSON.stringify(found));
