// The facts that make a bench result comparable: machine, Node version, git commit.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { repoRoot } from './paths.ts';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memGb: number;
  kernel: string;
  node: string;
  commit: string;
  /** True when the working tree had uncommitted changes (figures may not match the commit exactly). */
  dirty: boolean;
  /** 1/5/15-minute load average at the start: above the core count, other work competed with the bench. */
  loadAvg: number[];
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

/**
 * Describe this machine and checkout.
 * @example machineInfo().cpuModel // 'AMD EPYC 7B13'
 */
export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    // Not availableParallelism(): this process is pinned to one core by now.
    cores: cpus().length,
    memGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    loadAvg: loadavg(),
  };
}
