// Hot reload hands a lane a new sink; the old one may still have sends out, so it closes only after the last of them returns.
import type { SinkInstance } from '../sinks/define.ts';

/**
 * Counts sends in progress per sink instance and closes retired instances once they are idle.
 * @example
 * handover.acquire(sink); sink.send(...).finally(() => handover.release(sink));
 * handover.retire(oldSink); // closes now, or after its last send
 */
export class SinkHandover {
  private readonly inUse = new Map<SinkInstance, number>();
  private readonly retired = new Set<SinkInstance>();

  constructor(
    private readonly onCloseError: (err: unknown) => void,
    private readonly closeTimeoutMs = 5000,
  ) {}

  acquire(sink: SinkInstance): void {
    this.inUse.set(sink, (this.inUse.get(sink) ?? 0) + 1);
  }

  release(sink: SinkInstance): void {
    const n = (this.inUse.get(sink) ?? 1) - 1;
    if (n > 0) return void this.inUse.set(sink, n);
    this.inUse.delete(sink);
    if (this.retired.delete(sink)) void this.close(sink);
  }

  /** The sink was replaced: close it now if idle, else after its last send returns. */
  retire(sink: SinkInstance): void {
    if ((this.inUse.get(sink) ?? 0) === 0) void this.close(sink);
    else this.retired.add(sink);
  }

  /** Lane shutdown: close `current` and every retired sink still waiting, without waiting for stuck sends. */
  async closeAll(current: SinkInstance): Promise<void> {
    const sinks = new Set([current, ...this.retired]);
    this.retired.clear();
    for (const s of sinks) await this.close(s);
  }

  private async close(sink: SinkInstance): Promise<void> {
    // A sink stuck in I/O that never settles (a mkdir on a dead mount, say) must not hold shutdown past its grace.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((r) => {
      timer = setTimeout(() => r('stuck'), this.closeTimeoutMs);
    });
    try {
      const outcome = await Promise.race([sink.close().then(() => 'closed' as const), stuck]);
      if (outcome === 'stuck')
        this.onCloseError(new Error(`sink did not close within ${this.closeTimeoutMs} ms; left behind`));
    } catch (err) {
      this.onCloseError(err);
    } finally {
      clearTimeout(timer);
    }
  }
}
