/**
 * CPU time of a benchmark process and of the servers it started, read
 * from procfs.
 *
 * @module
 */
import process from "node:process";

/** CPU time (user + system) this process has used so far, in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * CPU time (user + system, all threads) a subprocess has used so far, in ms,
 * from `/proc/<pid>/stat`, which Deno lets only `--allow-all` read directly,
 * hence `cat`. Undefined where there is no procfs. Assumes the usual 100
 * clock ticks per second, so the figure moves in steps of 10 ms.
 */
export async function childCpuMs(pid: number): Promise<number | undefined> {
  try {
    const { success, stdout } = await new Deno.Command("cat", {
      args: [`/proc/${pid}/stat`],
      stderr: "null",
    }).output();
    if (!success) return undefined;
    const stat = new TextDecoder().decode(stdout);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
