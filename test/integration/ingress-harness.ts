// Test harness for the ingress: a real listener on loopback (on each engine this machine runs) with a recording hand-off, plus raw-socket helpers for hostile clients.
import net from 'node:net';
import { describe } from 'node:test';
import { Metrics } from '../../src/admin/metrics.ts';
import type { Config } from '../../src/config/schema.ts';
import { ERRORS } from '../../src/errors.ts';
import type { EventHandoff, IncomingEvent, ValidationIssue } from '../../src/events/record.ts';
import type { EngineName } from '../../src/ingress/engine.ts';
import { createIngress, type Ingress } from '../../src/ingress/server.ts';
import { loadNativeUws } from '../../src/ingress/uws-binary.ts';
import { silentLogger } from '../../src/log.ts';

export type ConfigPatch = {
  server?: Partial<Config['server']>;
  auth?: Partial<Config['auth']>;
  validation?: Partial<Config['validation']>;
};

/** A full Config with test-friendly defaults (loopback, port 0, 1 KiB body limit) and `patch` applied per section. */
export function ingressConfig(patch: ConfigPatch = {}): Config {
  return {
    file: undefined,
    baseDir: '/',
    server: {
      host: '127.0.0.1',
      port: 0,
      path: '/webhook',
      maxBodyBytes: 1024,
      maxHeaderBytes: 16 * 1024,
      trustProxy: [],
      maxConnections: 10_000,
      engine: 'auto',
      ...patch.server,
    },
    auth: { mode: 'none', allowIps: [], ...patch.auth },
    validation: { onInvalid: 'quarantine', ...patch.validation },
    pipelines: { dir: '/p', watch: false, debounceMs: 0, evalTimeoutMs: 100 },
    plugins: { dir: '/x' },
    storage: { dir: '/d', fsync: 'off', maxDiskBytes: 1e9, segmentBytes: 1e6 },
    admin: { enabled: false, host: '127.0.0.1', port: 0 },
    log: { level: 'silent', format: 'json' },
    shutdown: { graceMs: 1000 },
  };
}

/** A hand-off that records events; `next` lets a test decide how the next accept() settles. */
export class RecordingHandoff implements EventHandoff {
  readonly events: IncomingEvent[] = [];
  /** Called for each accept(); default: resolve at once. */
  behaviour: (event: IncomingEvent) => Promise<void> = async () => {};
  accept(event: IncomingEvent): Promise<void> {
    this.events.push(event);
    return this.behaviour(event);
  }
}

export interface TestIngress {
  ingress: Ingress;
  port: number;
  url: string;
  handoff: RecordingHandoff;
  metrics: Metrics;
  /** Issues the fake validator returns (for every body). */
  issues: ValidationIssue[];
  /** Replace to make the validator or the label function misbehave. */
  hooks: { validate?: () => ValidationIssue[]; eventLabel?: (name: string) => string };
  close(): void;
}

/** Start an ingress on `host` (default 127.0.0.1) port 0. */
export async function startIngress(patch: ConfigPatch = {}): Promise<TestIngress> {
  const config = ingressConfig(patch);
  const handoff = new RecordingHandoff();
  const metrics = new Metrics({ processMetrics: false });
  const state = { issues: [] as ValidationIssue[] };
  const hooks: TestIngress['hooks'] = {};
  const ingress = createIngress({
    config,
    validate: () => (hooks.validate ? hooks.validate() : state.issues),
    handoff,
    metrics,
    eventLabel: (name) => (hooks.eventLabel ? hooks.eventLabel(name) : name.length < 40 ? name : 'other'),
    logger: silentLogger,
  });
  const { port } = await ingress.listen();
  const host = config.server.host.includes(':')
    ? `[${config.server.host === '::' ? '::1' : config.server.host}]`
    : config.server.host;
  return {
    ingress,
    port,
    url: `http://${host}:${port}${config.server.path}`,
    handoff,
    metrics,
    hooks,
    get issues() {
      return state.issues;
    },
    set issues(v) {
      state.issues = v;
    },
    close: () => ingress.close(),
  };
}

/** The engines this machine runs: node always, uws where a native binary loads (test/ingress/engine.test.ts says where it must). */
export const ENGINES: EngineName[] = loadNativeUws() ? ['uws', 'node'] : ['node'];

/**
 * Run a suite once per engine in ENGINES, so each behaviour is proven on each; the `startIngress` it gets starts that engine.
 *
 * @example
 * forEachEngine(({ startIngress }) => { it('answers', async () => { const t = await startIngress(); ... }); });
 */
export function forEachEngine(
  suite: (e: { engine: EngineName; startIngress: (patch?: ConfigPatch) => Promise<TestIngress> }) => void,
): void {
  for (const engine of ENGINES)
    describe(`[${engine}]`, () =>
      suite({ engine, startIngress: (patch = {}) => startIngress({ ...patch, server: { engine, ...patch.server } }) }));
}

/** A parsed raw HTTP answer; `status` 0 when the server closed or reset without answering. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server ended the connection (FIN or reset) after answering. */
  closed: boolean;
}

/**
 * Speak HTTP/1.1 by hand, for what real clients refuse to send. `parts` are written in order, `gapMs` apart;
 * with `endAfter` the socket half-closes after the last part. Resolves when the server answers and closes, or after `waitMs`;
 * with `keepAlive`, as soon as one complete answer (by its Content-Length) has arrived.
 */
export function rawRequest(
  port: number,
  parts: (string | Buffer)[],
  opts: { host?: string; gapMs?: number; endAfter?: boolean; waitMs?: number; keepAlive?: boolean } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = net.connect(port, opts.host ?? '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseAnswer(Buffer.concat(chunks).toString('latin1')), closed });
    };
    const timer = setTimeout(finish, opts.waitMs ?? 2000);
    socket.on('data', (d) => {
      chunks.push(d);
      if (opts.keepAlive && isComplete(Buffer.concat(chunks).toString('latin1'))) finish();
    });
    socket.on('error', () => {
      closed = true;
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('end', () => {
      closed = true;
    });
    socket.on('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (socket.destroyed) return;
        socket.write(p);
      }
      if (opts.endAfter) socket.end();
    });
  });
}

function isComplete(text: string): boolean {
  const answer = parseAnswer(text);
  return answer.status > 0 && Buffer.byteLength(answer.body, 'latin1') >= Number(answer.headers['content-length'] ?? 0);
}

function parseAnswer(text: string): Omit<RawAnswer, 'closed'> {
  const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
  if (!m) return { status: 0, headers: {}, body: text };
  const headers: Record<string, string> = {};
  for (const line of m[2]!.split('\r\n')) {
    const i = line.indexOf(':');
    headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: Number(m[1]), headers, body: m[3]! };
}

/** `POST path` head for raw requests. */
export function head(path: string, headers: Record<string, string | number>): string {
  return `POST ${path} HTTP/1.1\r\nHost: test\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** Assert-ready check that an error body has the contract shape and a code from the error table. */
export function errorCodeOf(body: string): string {
  const parsed = JSON.parse(body) as { error?: unknown; message?: unknown };
  if (typeof parsed.error !== 'string' || typeof parsed.message !== 'string')
    throw new Error(`not an error body: ${body}`);
  if (!(parsed.error in ERRORS)) throw new Error(`error code ${parsed.error} is not in the error table`);
  return parsed.error;
}

/** Value of one labelled counter. */
export async function counterValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit ? hit.value : 0;
}
