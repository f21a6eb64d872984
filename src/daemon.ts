// Wires the stages together — ingress → journal/engine → pipelines → lanes → sinks — and owns start and stop (reload.ts reloads).
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
import { loadSinkTypes } from './sinks/registry.ts';
import { SinkPool } from './sinks/pool.ts';
import { DeadLetterStore } from './dead-letters/store.ts';
import { watchBacklogHeap } from './delivery/backlog-heap.ts';
import { DeliveryEngine } from './delivery/engine.ts';
import { Lane } from './delivery/lane.ts';
import { acquireStorageLock, type StorageLock } from './journal/storage-lock.ts';
import { formatProblem } from './schema-kit/yaml-source.ts';
import { pipelinesView } from './admin/pipelines-view.ts';
import { replayOnline } from './dead-letters/replay-online.ts';
import { createReloader, lastGoodFiles, type Loaded, type ReloadResult } from './reload.ts';
import { LastGoodVersions } from './pipelines/last-good.ts';
import { deadLetterDir, journalDir, lastGoodDir } from './journal/layout.ts';

export interface Daemon {
  readonly ingressPort: number;
  readonly adminPort: number | undefined;
  readonly metrics: Metrics;
  /** Reload plugins and pipelines; a broken file keeps its previous version. */
  reload(reason: string): Promise<ReloadResult>;
  /** Read the `server.tls` certificate and key again (no-op without TLS); open connections keep going. */
  reloadTls(reason: string): Promise<boolean>;
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
    const plugins = await loadSinkTypes({ pluginsDir: config.plugins.dir, logger });
    for (const p of plugins.problems) logger.error({ problem: formatProblem(p) }, 'plugin not loaded');
    // A reload compiles only the pipeline files whose content changed; the others keep their compiled pipeline, lanes and sinks.
    const compileCache = new CompileCache();
    const lastGood = new LastGoodVersions(lastGoodDir(config.storage.dir));
    const first = await loadPipelines({
      dir: config.pipelines.dir,
      sinkTypes: plugins.registry,
      evalTimeoutMs: config.pipelines.evalTimeoutMs,
      baseDir: config.baseDir,
      version: 1,
      cache: compileCache,
      lastGood,
    });
    const loaded: Loaded = {
      table: first.table,
      registry: plugins.registry,
      loadErrors: first.problems.map(formatProblem),
      lastGood: lastGoodFiles(first),
    };
    metrics.pipelinesLastGood.set(loaded.lastGood.length);
    for (const e of loaded.loadErrors) logger.error({ problem: e }, 'pipeline not loaded');
    if (loaded.table.pipelines.length === 0) {
      logger.warn(
        { dir: config.pipelines.dir },
        'no pipelines loaded: accepted events are stored, then counted as unmatched (hookroute_events_unmatched_total) and go nowhere; add pipeline files to the folder (see the shipped ./pipelines)',
      );
    }
    metrics.pipelinesLoaded.set(loaded.table.pipelines.length);

    const sinks = new SinkPool({ baseDir: config.baseDir, logger, metrics });
    await sinks.prepare(loaded.table, loaded.registry);
    cleanups.push(() => sinks.closeAll());

    const deadLetters = await DeadLetterStore.open(deadLetterDir(config.storage.dir), {
      fsync: config.storage.fsync,
      onBytes: (bytes) => metrics.deadLetterBytes.set(bytes),
    });
    cleanups.push(() => deadLetters.close());

    const lanes = new Map<string, Lane>();
    const payloadFor = (key: string) => (event: Parameters<RoutingTable['payload']>[1]) =>
      loaded.table.payload(key, event);
    const engine = await DeliveryEngine.open({
      storage: config.storage,
      table: () => loaded.table,
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

    const reloadPipelines = createReloader({
      config,
      state: loaded,
      cache: compileCache,
      lastGood,
      sinks,
      applied: () => engine.tableChanged(),
      metrics,
      logger,
    });
    // SIGHUP and admin reloads also re-read auth.oauth2.jwt's JWKS (a pipeline file change has nothing to do with it).
    const reload: typeof reloadPipelines = (reason) => {
      if (reason !== 'file change') void ingress.reloadKeys();
      return reloadPipelines(reason);
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
          pipelinesLoaded: loaded.table.pipelines.length > 0 || loaded.loadErrors.length === 0,
        }),
        pipelines: () =>
          pipelinesView({
            table: loaded.table,
            loadErrors: loaded.loadErrors,
            lastGood: loaded.lastGood,
            laneStats: (key) => lanes.get(key)?.stats(),
            backlog: () => engine.stats().lanes,
            dedupeStats: (name) => engine.dedupeStats(name),
          }),
        reload: () => reload('admin'),
        dlqList: async (filter) => deadLetters.summary(filter),
        dlqReplay: (filter) => replayOnline(deadLetters, engine, filter),
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
      { port: ingressPort, adminPort, pipelines: loaded.table.pipelines.length, storage: config.storage.dir },
      'hookroute started',
    );
    const reloadTls = (reason: string) => ingress.reloadTls(reason);
    return { ingressPort, adminPort, metrics, reload, reloadTls, stop, stopped };
  } catch (err) {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
    throw err;
  }
}
