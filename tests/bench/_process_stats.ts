/**
 * What a benchmark process and the servers it started use: CPU time,
 * resident memory and the open-files limit, read from procfs.
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
  const stat = await readProc(pid, "stat");
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Resident memory of a process in KiB, `VmRSS` of `/proc/<pid>/status`
 * (read with `cat`, as above). Undefined where there is no procfs or the
 * process has exited.
 */
export async function rssKiB(pid: number): Promise<number | undefined> {
  const status = await readProc(pid, "status");
  const match = status === undefined
    ? null
    : /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match === null ? undefined : Number(match[1]);
}

/**
 * The soft limit on open files of a process (`Max open files` in
 * `/proc/<pid>/limits`); undefined where there is no procfs, Infinity when
 * unlimited.
 */
export async function openFilesLimit(
  pid: number,
): Promise<number | undefined> {
  const limits = await readProc(pid, "limits");
  const match = limits === undefined
    ? null
    : /^Max open files\s+(\S+)/m.exec(limits);
  if (match === null) return undefined;
  return match[1] === "unlimited" ? Infinity : Number(match[1]);
}

/**
 * The machine's load averages over 1, 5 and 15 minutes (the first three
 * fields of `/proc/loadavg`, read with `cat`), to tell a busy machine from a
 * slow server; undefined where there is no procfs.
 */
export async function loadAverages(): Promise<string | undefined> {
  const line = await readProcFile("/proc/loadavg");
  return line?.split(" ").slice(0, 3).join(" ");
}

function readProc(pid: number, file: string): Promise<string | undefined> {
  return readProcFile(`/proc/${pid}/${file}`);
}

async function readProcFile(path: string): Promise<string | undefined> {
  try {
    const { success, stdout } = await new Deno.Command("cat", {
      args: [path],
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sets the CPUs every thread of process `pid` may run on (`taskset -a -p
 * -c <cpus> <pid>`, Linux). False when it could not: no `taskset`, or it
 * refused.
 *
 * @param pid The process.
 * @param cpus A `taskset` CPU list: `0`, `1`, `0-1`.
 */
export async function pinProcess(pid: number, cpus: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("taskset", {
      args: ["-a", "-p", "-c", cpus, String(pid)],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}
