// `hookroute dlq list|replay`: through the running daemon's admin API, or straight on the storage folder when it is stopped.
import { access } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { readAdminEndpoint } from '../admin/endpoint-file.ts';
import { Metrics } from '../admin/metrics.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError, loadConfig } from '../config/load.ts';
import { formatProblem } from '../schema-kit/yaml-source.ts';
import { DeadLetterStore, type DeadLetterGroup } from '../dead-letters/store.ts';
import { deadLetterDir } from '../journal/layout.ts';
import { replayOffline, type ReplayDeps, type ReplayResult } from '../dead-letters/replay.ts';
import { acquireStorageLock, lockHolder } from '../journal/storage-lock.ts';
import { silentLogger } from '../log.ts';
import { loadOffline } from './load-offline.ts';

export interface DlqOptions {
  config?: string;
  pipeline?: string;
  sink?: string;
  json?: boolean;
}

interface Out {
  write(text: string): unknown;
}

/** How long to wait for the daemon's admin API before deciding; a refused connection means it is not running. */
const PROBE_TIMEOUT_MS = 1000;
const REPLAY_TIMEOUT_MS = 60_000;
const MAX_ERROR_CHARS = 80;

type DaemonAnswer = { running: false } | { running: true; status: number; body: unknown } | { error: string };

/** The admin API base URL: a wildcard listen address is reached on loopback. */
export function adminBase(admin: Config['admin']): string {
  const host = admin.host === '0.0.0.0' || admin.host === '' ? '127.0.0.1' : admin.host === '::' ? '::1' : admin.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${admin.port}`;
}

function query(filter: { pipeline?: string; sink?: string }): string {
  const q = new URLSearchParams();
  if (filter.pipeline) q.set('pipeline', filter.pipeline);
  if (filter.sink) q.set('sink', filter.sink);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function refused(err: unknown): boolean {
  const codes = [(err as { code?: string }).code, (err as { cause?: { code?: string } }).cause?.code];
  return codes.includes('ECONNREFUSED');
}

async function callAdmin(
  admin: Config['admin'],
  method: 'GET' | 'POST',
  path: string,
  timeoutMs: number,
): Promise<DaemonAnswer> {
  const headers: Record<string, string> = admin.token ? { authorization: `Bearer ${admin.token}` } : {};
  // A private agent, closed after the call, so no keep-alive socket holds the command open after it is done.
  const dispatcher = new Agent({ connections: 1 });
  try {
    const res = await request(`${adminBase(admin)}${path}`, {
      method,
      headers,
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the error message
    }
    return { running: true, status: res.statusCode, body };
  } catch (err) {
    if (refused(err)) return { running: false };
    return { error: `the admin API at ${adminBase(admin)} did not answer (${(err as Error).message})` };
  } finally {
    await dispatcher.close().catch(() => {});
  }
}

/** Ask the running daemon, if there is one. Offline use is refused while another process holds the storage folder. */
async function askDaemon(
  config: Config,
  action: 'list' | 'replay',
  filter: { pipeline?: string; sink?: string },
): Promise<DaemonAnswer> {
  const pid = await lockHolder(config.storage.dir);
  // The daemon records where its admin API really listens (`admin.port: 0` picks a free port).
  const recorded = pid === undefined ? undefined : await readAdminEndpoint(config.storage.dir);
  const admin =
    recorded && recorded.pid === pid ? { ...config.admin, host: recorded.host, port: recorded.port } : config.admin;
  if (recorded?.pid === pid || (config.admin.enabled && config.admin.port !== 0)) {
    const probe = await callAdmin(admin, 'GET', `/dlq${query(filter)}`, PROBE_TIMEOUT_MS);
    if (!('running' in probe) || probe.running) {
      if (action === 'list' || !('running' in probe) || probe.status !== 200) return probe;
      return callAdmin(admin, 'POST', `/dlq/replay${query(filter)}`, REPLAY_TIMEOUT_MS);
    }
  }
  if (pid !== undefined) {
    return {
      error: `hookroute (pid ${pid}) is using ${config.storage.dir} but its admin API is not reachable at ${adminBase(admin)}; enable admin or stop it`,
    };
  }
  return { running: false };
}

function oneLine(text: string, max: number): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The `dlq list` table: one row per (pipeline, sink, reason). */
export function formatSummary(groups: readonly DeadLetterGroup[]): string {
  if (groups.length === 0) return 'no dead letters\n';
  const rows = [
    ['PIPELINE', 'SINK', 'REASON', 'COUNT', 'LAST ERROR', 'LAST AT'],
    ...groups.map((g) => [
      g.pipeline ?? '-',
      g.sink ?? '-',
      g.reason,
      String(g.count),
      oneLine(g.lastError, MAX_ERROR_CHARS),
      g.lastAt ? new Date(g.lastAt).toISOString() : '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const total = groups.reduce((n, g) => n + g.count, 0);
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n${total} dead letter${total === 1 ? '' : 's'}\n`;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

function isGroups(v: unknown): v is DeadLetterGroup[] {
  return (
    Array.isArray(v) &&
    v.every((g) => typeof g === 'object' && g !== null && typeof (g as DeadLetterGroup).count === 'number')
  );
}

async function offlineList(config: Config, filter: { pipeline?: string; sink?: string }): Promise<DeadLetterGroup[]> {
  const dir = deadLetterDir(config.storage.dir);
  if (!(await exists(dir))) return [];
  const store = await DeadLetterStore.open(dir, { fsync: config.storage.fsync });
  try {
    return await store.summary(filter);
  } finally {
    await store.close();
  }
}

/** Everything an offline replay needs from the config: sink types and pipelines as they are on disk now. */
async function offlineReplay(
  config: Config,
  filter: { pipeline?: string; sink?: string },
  err: Out,
): Promise<ReplayResult> {
  if (!(await exists(deadLetterDir(config.storage.dir))))
    return { replayed: 0, delivered: 0, failed: 0, missing: 0, skipped: 0 };
  const logger = silentLogger;
  const { registry, table, problems } = await loadOffline(config, logger);
  for (const p of problems) err.write(`warning: ${formatProblem(p)}\n`);
  const controller = new AbortController();
  const createSink: ReplayDeps['createSink'] = async (spec) => {
    const def = registry.get(spec.type);
    if (!def) throw new Error(`unknown sink type "${spec.type}"`);
    return def.create(spec.options as never, {
      pipeline: spec.pipeline,
      sink: spec.sinkId,
      baseDir: config.baseDir,
      logger,
      signal: controller.signal,
    });
  };
  const lock = await acquireStorageLock(config.storage.dir);
  const store = await DeadLetterStore.open(deadLetterDir(config.storage.dir), { fsync: config.storage.fsync });
  try {
    return await replayOffline({
      store,
      filter,
      table,
      createSink,
      metrics: new Metrics({ processMetrics: false }),
      logger,
    });
  } finally {
    controller.abort();
    await store.close();
    await lock.release();
  }
}

/** The replay summary line(s); quarantined records are named because an offline replay leaves them. */
export function formatReplay(r: ReplayResult): string {
  const lines = [
    `replayed ${r.replayed}: ${r.delivered} delivered, ${r.failed} failed again (kept in the dead-letter queue)`,
  ];
  if (r.missing) lines.push(`${r.missing} kept: their pipeline or sink no longer exists`);
  if (r.skipped)
    lines.push(
      `${r.skipped} quarantined or unrouted record(s) not replayed: they need routing, which only the running daemon does (start it and run dlq replay again)`,
    );
  return `${lines.join('\n')}\n`;
}

/**
 * Run `hookroute dlq list|replay`. Returns the exit code: 0 ok (replay: everything delivered), 1 otherwise.
 * @example
 * process.exitCode = await runDlq('replay', { pipeline: 'bounces' }, process.stdout, process.stderr);
 */
export async function runDlq(action: 'list' | 'replay', opts: DlqOptions, out: Out, err: Out): Promise<number> {
  let config: Config;
  try {
    config = await loadConfig(opts.config === undefined ? {} : { file: opts.config });
  } catch (e) {
    if (e instanceof ConfigError) for (const p of e.problems) err.write(`${formatProblem(p)}\n`);
    else err.write(`${(e as Error).message}\n`);
    return 1;
  }
  const filter: { pipeline?: string; sink?: string } = {};
  if (opts.pipeline) filter.pipeline = opts.pipeline;
  if (opts.sink) filter.sink = opts.sink;

  try {
    const daemon = await askDaemon(config, action, filter);
    if ('error' in daemon) {
      err.write(`${daemon.error}\n`);
      return 1;
    }
    if (daemon.running) {
      if (daemon.status < 200 || daemon.status > 299) {
        const detail =
          typeof daemon.body === 'object' && daemon.body !== null
            ? String((daemon.body as { message?: unknown }).message ?? '')
            : String(daemon.body);
        err.write(
          `the running daemon answered ${daemon.status}${detail ? `: ${oneLine(detail, 200)}` : ''}${daemon.status === 401 ? ' (check admin.token)' : ''}\n`,
        );
        return 1;
      }
      if (action === 'list') {
        const groups = isGroups(daemon.body) ? daemon.body : [];
        out.write(opts.json ? `${JSON.stringify(groups, null, 2)}\n` : formatSummary(groups));
        return 0;
      }
      const replayed = (daemon.body as { replayed?: unknown }).replayed;
      out.write(
        opts.json
          ? `${JSON.stringify(daemon.body)}\n`
          : `replayed ${typeof replayed === 'number' ? replayed : '?'} dead letter(s) into the running daemon's queues; delivery goes on there\n`,
      );
      return 0;
    }
    if (action === 'list') {
      const groups = await offlineList(config, filter);
      out.write(opts.json ? `${JSON.stringify(groups, null, 2)}\n` : formatSummary(groups));
      return 0;
    }
    const result = await offlineReplay(config, filter, err);
    out.write(opts.json ? `${JSON.stringify(result)}\n` : formatReplay(result));
    return result.failed === 0 && result.missing === 0 ? 0 : 1;
  } catch (e) {
    err.write(`dlq ${action} failed: ${(e as Error).message}\n`);
    return 1;
  }
}
