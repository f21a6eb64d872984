// Wires the stages together — ingress → journal/engine → pipelines → lanes → sinks — and owns start, reload and stop.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Config } from './config/schema.ts';
import type { Logger } from './log.ts';
import { Metrics } from './admin/metrics.ts';
import { createAdminServer, type AdminServer } from './admin/server.ts';
import { removeAdminEndpoint, writeAdminEndpoint } from './admin/endpoint-file.ts';
import { createIngress, type Ingress } from './ingress/server.ts';
import { validateEvent } from './events/validate.ts';
import { eventLabel } from './events/catalog.ts';
import { CompileCache } from './pipelines/compile-cache.ts';
import { loadPipelines } from './pipelines/load.ts';
import { watchPipelines } from './pipelines/watch.ts';
import type { LaneSpec, RoutingTable } from './pipelines/table.ts';
import { loadSinkTypes, sameSinkTypes, type SinkRegistry } from './sinks/registry.ts';
import { SinkPool } from './sinks/pool.ts';
import { DeadLetterStore } from './dead-letters/store.ts';
import { watchBacklogHeap } from './delivery/backlog-heap.ts';
import { DeliveryEngine } from './delivery/engine.ts';
import { Lane } from './delivery/lane.ts';
import { acquireStorageLock, type StorageLock } from './journal/storage-lock.ts';
import { formatProblem } from './schema-kit/yaml-source.ts';
import { deadLetterDir, journalDir } from './journal/layout.ts';

export interface Daemon {
  readonly ingressPort: number;
  readonly adminPort: number | undefined;
  readonly metrics: Metrics;
  /** Reload plugins and pipelines; a broken file keeps its previous version. */
  reload(reason: string): Promise<{ ok: boolean; errors: string[] }>;
  /** Graceful stop: 503 for new requests, answer in-flight ones, let queues deliver for the grace period, flush, close. */
  stop(): Promise<void>;
  /** Resolves once stop() has finished. */
  readonly stopped: Promise<void>;
}

/** Start everything for `config`. Throws (with a clear message) when the daemon cannot start. */
export async function startDaemon(config: Config, logger: Logger, opts: { metrics?: Metrics } = {}): Promise<Daemon> {
  const metrics = opts.metrics ?? new Metrics();
  await mkdir(config.storage.dir, { recursive: true, mode: 0o700 });
  const lock: StorageLock = await acquireStorageLock(config.storage.dir);
  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
  try {
    let registry: SinkRegistry;
    {
      const loaded = await loadSinkTypes({ pluginsDir: config.plugins.dir, logger });
      registry = loaded.registry;
      for (const p of loaded.problems) logger.error({ problem: formatProblem(p) }, 'plugin not loaded');
    }
    let lastLoadErrors: string[] = [];
    // A reload compiles only the pipeline files whose content changed; the others keep their compiled pipeline, lanes and sinks.
    const compileCache = new CompileCache();
    const first = await loadPipelines({
      dir: config.pipelines.dir,
      sinkTypes: registry,
      evalTimeoutMs: config.pipelines.evalTimeoutMs,
      baseDir: config.baseDir,
      version: 1,
      cache: compileCache,
    });
    lastLoadErrors = first.problems.map(formatProblem);
    for (const e of lastLoadErrors) logger.error({ problem: e }, 'pipeline not loaded');
    if (first.table.pipelines.length === 0) {
      logger.warn(
        { dir: config.pipelines.dir },
        'no pipelines loaded: accepted events are stored, then counted as unmatched (hookroute_events_unmatched_total) and go nowhere; add pipeline files to the folder (see the shipped ./pipelines)',
      );
    }
    let table: RoutingTable = first.table;
    metrics.pipelinesLoaded.set(table.pipelines.length);

    const sinks = new SinkPool({ baseDir: config.baseDir, logger, metrics });
    await sinks.prepare(table, registry);
    cleanups.push(() => sinks.closeAll());

    const deadLetters = await DeadLetterStore.open(deadLetterDir(config.storage.dir), { fsync: config.storage.fsync });
    cleanups.push(() => deadLetters.close());

    const lanes = new Map<string, Lane>();
    const payloadFor = (key: string) => (event: Parameters<RoutingTable['payload']>[1]) => table.payload(key, event);
    const engine = await DeliveryEngine.open({
      storage: config.storage,
      table: () => table,
      createLane: (spec: LaneSpec, onSettled) => {
        metrics.laneStarts.inc();
        const lane = new Lane({
          spec,
          sink: sinks.take(spec.key),
          payload: payloadFor(spec.key),
          deadLetters,
          metrics,
          logger: logger.child({ pipeline: spec.pipeline, sink: spec.sinkId }),
          onSettled,
        });
        lanes.set(spec.key, lane);
        return lane;
      },
      updateLane: (lane: Lane, spec: LaneSpec) => lane.update(spec, sinks.take(spec.key), payloadFor(spec.key)),
      deadLetters,
      metrics,
      logger,
    });
    engine.start();
    cleanups.push(watchBacklogHeap(() => engine.stats().pendingEvents, logger));

    const ingress: Ingress = createIngress({
      config,
      validate: validateEvent,
      handoff: engine,
      metrics,
      eventLabel,
      logger,
    });
    const { port: ingressPort } = await ingress.listen();
    let listening = true;
    cleanups.push(() => ingress.close());

    // Reloads run one at a time; a reload asked for while one runs is coalesced into one more run.
    let reloading: Promise<{ ok: boolean; errors: string[] }> | undefined;
    let again = false;
    const reloadOnce = async (reason: string) => {
      const started = performance.now();
      const t = [started];
      const loaded = await loadSinkTypes({ pluginsDir: config.plugins.dir, logger });
      // Unchanged plugins: keep the registry object, which keeps every compiled pipeline in the cache valid.
      if (!sameSinkTypes(registry, loaded.registry)) registry = loaded.registry;
      t.push(performance.now());
      const result = await loadPipelines({
        dir: config.pipelines.dir,
        sinkTypes: registry,
        evalTimeoutMs: config.pipelines.evalTimeoutMs,
        baseDir: config.baseDir,
        previous: table,
        version: table.version + 1,
        cache: compileCache,
      });
      t.push(performance.now());
      await sinks.prepare(result.table, registry);
      t.push(performance.now());
      table = result.table;
      engine.tableChanged();
      sinks.retireUnused(table);
      t.push(performance.now());
      const round = (x: number) => Math.round(x * 10) / 10;
      const stagesMs = {
        plugins: round(t[1]! - t[0]!),
        pipelines: round(t[2]! - t[1]!),
        sinks: round(t[3]! - t[2]!),
        swap: round(t[4]! - t[3]!),
      };
      const recompiled = result.compiled.length;
      const errors = [...loaded.problems, ...result.problems].map(formatProblem);
      lastLoadErrors = errors;
      metrics.reloads.inc({ result: errors.length ? 'error' : 'ok' });
      metrics.pipelinesLoaded.set(table.pipelines.length);
      const ms = round(performance.now() - started);
      if (errors.length)
        logger.error(
          { reason, ms, stagesMs, recompiled, version: table.version, errors },
          'pipelines reloaded with errors (broken files keep their previous version)',
        );
      else
        logger.info(
          { reason, ms, stagesMs, recompiled, version: table.version, pipelines: table.pipelines.length },
          'pipelines reloaded',
        );
      return { ok: errors.length === 0, errors };
    };
    const reload = (reason: string): Promise<{ ok: boolean; errors: string[] }> => {
      if (reloading) {
        again = true;
        return reloading;
      }
      reloading = (async () => {
        try {
          let r = await reloadOnce(reason);
          while (again) {
            again = false;
            r = await reloadOnce('coalesced');
          }
          return r;
        } catch (err) {
          metrics.reloads.inc({ result: 'error' });
          logger.error({ err }, 'reload failed; previous pipelines keep running');
          return { ok: false, errors: [(err as Error).message] };
        } finally {
          reloading = undefined;
        }
      })();
      return reloading;
    };

    if (config.pipelines.watch) {
      const watcher = watchPipelines(
        config.pipelines.dir,
        config.pipelines.debounceMs,
        () => void reload('file change'),
      );
      cleanups.push(() => watcher.close());
    }

    let admin: AdminServer | undefined;
    let adminPort: number | undefined;
    if (config.admin.enabled) {
      admin = createAdminServer({
        config,
        metrics,
        logger,
        // The journal folder vanishing (an operator's rm -rf) leaves open files writable but lost at the next start: not ready.
        readiness: () => ({
          listening,
          storageWritable: engine.writable() && existsSync(journalDir(config.storage.dir)),
          pipelinesLoaded: table.pipelines.length > 0 || lastLoadErrors.length === 0,
        }),
        pipelines: () => ({
          version: table.version,
          loadErrors: lastLoadErrors,
          pipelines: table.pipelines.map((p) => ({
            ...p,
            sinks: p.lanes.map((key) => ({
              key,
              ...(lanes.get(key)?.stats() ?? {}),
              ...(engine.stats().lanes[key] ?? {}),
            })),
          })),
        }),
        reload: () => reload('admin'),
        dlqList: async (filter) => deadLetters.summary(filter),
        dlqReplay: async (filter) => {
          const taken = await deadLetters.take(filter);
          try {
            await engine.replay(taken.records);
          } catch (err) {
            taken.release();
            throw err;
          }
          await taken.commit();
          return { replayed: taken.records.length };
        },
      });
      adminPort = (await admin.listen()).port;
      cleanups.push(() => admin?.close());
      // `hookroute dlq` finds the admin API through this file, even with `admin.port: 0`.
      await writeAdminEndpoint(config.storage.dir, { pid: process.pid, host: config.admin.host, port: adminPort });
      cleanups.push(() => removeAdminEndpoint(config.storage.dir));
    }

    let stopping: Promise<void> | undefined;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    const stop = () => {
      stopping ??= (async () => {
        logger.info(
          { graceMs: config.shutdown.graceMs },
          'shutting down: refusing new events, finishing in-flight requests',
        );
        listening = false;
        ingress.stopAccepting();
        await ingress.idle(Math.min(5000, config.shutdown.graceMs));
        await engine.shutdown(config.shutdown.graceMs);
        for (const fn of cleanups.reverse()) {
          try {
            await fn();
          } catch (err) {
            logger.warn({ err }, 'error while closing');
          }
        }
        logger.info('stopped');
        resolveStopped();
      })();
      return stopping;
    };

    logger.info(
      { port: ingressPort, adminPort, pipelines: table.pipelines.length, storage: config.storage.dir },
      'hookroute started',
    );
    return { ingressPort, adminPort, metrics, reload, stop, stopped };
  } catch (err) {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
    throw err;
  }
}
