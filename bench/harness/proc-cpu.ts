// CPU time of a child process (all its threads) from /proc/<pid>/stat: per-request cost that holds on a shared machine.
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for utime/stime (USER_HZ; 100 on every Linux this runs on). */
const TICKS_PER_SEC = 100;

/**
 * utime + stime of process `pid`, every thread included, in µs; undefined where /proc is missing.
 * @example const before = processCpuUs(pid); ...; const spentUs = processCpuUs(pid)! - before!;
 */
export function processCpuUs(pid: number): number | undefined {
  try {
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / TICKS_PER_SEC;
  } catch {
    return undefined;
  }
}

/**
 * Run `work` and return its result with the CPU µs process `pid` spent per `count(result)` (NaN without /proc).
 * @example const { result, usPer } = await cpuPer(pid, () => closedLoop(opts), (r) => r.total - r.failed);
 */
export async function cpuPer<T>(
  pid: number,
  work: () => Promise<T>,
  count: (result: T) => number,
): Promise<{ result: T; usPer: number }> {
  const before = processCpuUs(pid);
  const result = await work();
  const after = processCpuUs(pid);
  const n = count(result);
  const usPer = before === undefined || after === undefined || n <= 0 ? NaN : (after - before) / n;
  return { result, usPer };
}
