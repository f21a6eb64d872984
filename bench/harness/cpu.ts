// Core pinning: the server under test and the load generator on different cores, so neither steals the other's CPU.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

export interface CpuPlan {
  /** `taskset` core list for servers under test, or undefined when pinning is not possible. */
  serverCores: string | undefined;
  /** Core list this process (the generator) was pinned to, or undefined. */
  generatorCores: string | undefined;
  /** Why pinning is off, when it is. */
  note: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore', timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Pin this process to the last core and reserve the others for the server, when taskset and 2+ cores exist.
 * @example const plan = pinGenerator(); // { serverCores: '0', generatorCores: '1', ... } on 2 cores
 */
export function pinGenerator(): CpuPlan {
  const cores = cpus().length;
  if (cores < 2) return { serverCores: undefined, generatorCores: undefined, note: `only ${cores} core: no pinning` };
  if (!hasTaskset())
    return { serverCores: undefined, generatorCores: undefined, note: 'taskset not installed: no pinning' };
  const generatorCores = String(cores - 1);
  const serverCores = cores === 2 ? '0' : `0-${cores - 2}`;
  try {
    // -a: every thread of this process (libuv and V8 threads already exist), not just the main one.
    execFileSync('taskset', ['-a', '-cp', generatorCores, String(process.pid)], { stdio: 'ignore', timeout: 2000 });
  } catch {
    return { serverCores: undefined, generatorCores: undefined, note: 'taskset failed: no pinning' };
  }
  return { serverCores, generatorCores, note: `server on cores ${serverCores}, generator on core ${generatorCores}` };
}

/** Measures this process's CPU use over an interval, as a percentage of one core. */
export function cpuMeter(): () => number {
  const start = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const d = process.cpuUsage(start);
    const wallUs = (performance.now() - t0) * 1000;
    return wallUs > 0 ? ((d.user + d.system) / wallUs) * 100 : 0;
  };
}
