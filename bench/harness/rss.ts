// Resident memory of a child process, read from /proc (Linux), sampled over time.
import { readFileSync } from 'node:fs';

/** The VmRSS of `pid` in MB, or NaN when /proc is unavailable or the process is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

export interface RssSampler {
  /** Samples so far as [msSinceStart, MB]. */
  samples: [number, number][];
  peakMb(): number;
  stop(): void;
}

/**
 * Sample `pid`'s RSS every `everyMs` (at most `maxSamples` kept; later ones thin the series by replacing every other).
 * @example const s = sampleRss(child.pid, 250); ...; s.stop(); s.peakMb()
 */
export function sampleRss(pid: number, everyMs: number, maxSamples = 2000): RssSampler {
  const t0 = performance.now();
  const samples: [number, number][] = [];
  let peak = NaN;
  const take = () => {
    const mb = rssMb(pid);
    if (!Number.isNaN(mb)) peak = Number.isNaN(peak) ? mb : Math.max(peak, mb);
    samples.push([Math.round(performance.now() - t0), Math.round(mb * 10) / 10]);
    if (samples.length > maxSamples) samples.splice(0, samples.length, ...samples.filter((_, i) => i % 2 === 0));
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return { samples, peakMb: () => peak, stop: () => clearInterval(timer) };
}
