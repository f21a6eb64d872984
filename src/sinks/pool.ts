// Creates sink instances for the lanes of a routing table before it goes live, so a reload swaps in sinks that are ready.
import type { Metrics } from '../admin/metrics.ts';
import type { Logger } from '../log.ts';
import type { LaneSpec, RoutingTable } from '../pipelines/table.ts';
import type { SinkInstance } from './define.ts';
import type { SinkRegistry } from './registry.ts';

interface Prepared {
  fingerprint: string;
  sink: SinkInstance;
  controller: AbortController;
}

/**
 * Holds one prepared sink per lane whose config is new or changed. `take` hands it to the lane, which owns (and closes) it from then on.
 */
export class SinkPool {
  /** Fingerprint of the sink each lane key currently runs with. */
  private readonly live = new Map<string, string>();
  private readonly prepared = new Map<string, Prepared>();
  private readonly controllers = new Map<string, AbortController>();

  constructor(private readonly opts: { baseDir: string; logger: Logger; metrics?: Pick<Metrics, 'sinkStarts'> }) {}

  /** Create sinks for every lane of `table` that has none yet or whose fingerprint changed. A sink whose factory throws makes the lane fail its sends until the next reload. */
  async prepare(table: RoutingTable, registry: SinkRegistry): Promise<void> {
    const wanted = [...table.lanes.values()].filter(
      (spec) =>
        this.live.get(spec.key) !== spec.fingerprint && this.prepared.get(spec.key)?.fingerprint !== spec.fingerprint,
    );
    // Side by side: each creation may wait on I/O (opening a file, a socket), and under load one after another adds up.
    const created = await Promise.all(wanted.map((spec) => this.create(spec, registry)));
    wanted.forEach((spec, i) => this.prepared.set(spec.key, created[i]!));
  }

  /** Hand the prepared sink for `key` to its lane. */
  take(key: string): SinkInstance {
    const p = this.prepared.get(key);
    if (!p) throw new Error(`no sink prepared for lane ${key}`);
    this.prepared.delete(key);
    this.live.set(key, p.fingerprint);
    this.controllers.get(key)?.abort();
    this.controllers.set(key, p.controller);
    return p.sink;
  }

  /** Forget lanes that the new table no longer has. */
  retireUnused(table: RoutingTable): void {
    for (const key of [...this.live.keys()]) {
      if (!table.lanes.has(key)) {
        this.live.delete(key);
        this.controllers.get(key)?.abort();
        this.controllers.delete(key);
      }
    }
  }

  /** Close sinks that were prepared but never taken, and abort every sink's signal. */
  async closeAll(): Promise<void> {
    for (const p of this.prepared.values()) await p.sink.close().catch(() => {});
    this.prepared.clear();
    for (const c of this.controllers.values()) c.abort();
  }

  private async create(spec: LaneSpec, registry: SinkRegistry): Promise<Prepared> {
    const controller = new AbortController();
    this.opts.metrics?.sinkStarts.inc();
    const def = registry.get(spec.type);
    const logger = this.opts.logger.child({ pipeline: spec.pipeline, sink: spec.sinkId });
    try {
      if (!def) throw new Error(`unknown sink type "${spec.type}"`);
      const sink = await def.create(spec.options as never, {
        pipeline: spec.pipeline,
        sink: spec.sinkId,
        baseDir: this.opts.baseDir,
        logger,
        signal: controller.signal,
      });
      return { fingerprint: spec.fingerprint, sink, controller };
    } catch (err) {
      const message = `sink ${spec.key} could not start: ${(err as Error).message}`;
      logger.error(
        { err: (err as Error).message },
        'sink could not start; its deliveries fail (and retry) until a reload fixes it',
      );
      const broken: SinkInstance = {
        send: async () => ({ ok: false, retryable: true, error: message }),
        close: async () => {},
      };
      return { fingerprint: spec.fingerprint, sink: broken, controller };
    }
  }
}
