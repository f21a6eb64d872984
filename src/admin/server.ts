// The admin listener: health, readiness, Prometheus metrics, pipelines, reload and the dead-letter queue, on plain node:http.
// Admin traffic is a few requests a minute from a load balancer, Prometheus and operators, so it stays off the uWS hot path.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Config } from '../config/schema.ts';
import { ERRORS, errorBody } from '../errors.ts';
import { digest, secretMatches } from '../ingress/secret-compare.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from './metrics.ts';

export interface AdminDeps {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** Readiness facts; the server answers 503 on /readyz when any is false (body lists which). */
  readiness(): { listening: boolean; storageWritable: boolean; pipelinesLoaded: boolean };
  /** JSON for GET /pipelines (already assembled by the daemon). */
  pipelines(): unknown;
  /** POST /reload: resolves with the reload result (JSON-able). */
  reload(): Promise<{ ok: boolean; errors: string[] }>;
  /** POST /dlq/replay?pipeline=&sink=  and  GET /dlq?pipeline=&sink= (summary). */
  dlqReplay(filter: { pipeline?: string; sink?: string }): Promise<unknown>;
  dlqList(filter: { pipeline?: string; sink?: string }): Promise<unknown>;
}

export interface AdminServer {
  /** Start listening on `admin.host:admin.port`; resolves with the bound port (useful with port 0). */
  listen(): Promise<{ port: number }>;
  /** Stop listening and drop open connections (keep-alive ones included). */
  close(): Promise<void>;
}

/** Nothing the admin API accepts has a body; a client sending more than this is refused rather than buffered. */
const MAX_BODY_BYTES = 64 * 1024;
/** Longest accepted `pipeline` / `sink` filter value. */
const MAX_FILTER_CHARS = 256;
const MAX_CONNECTIONS = 64;
const REQUEST_TIMEOUT_MS = 30_000;

type Handler = (url: URL, deps: AdminDeps, log: Logger) => Promise<{ status: number; body: string; type?: string }>;
type Route = Partial<Record<'GET' | 'POST', Handler>>;

const json = (status: number, value: unknown) => ({ status, body: JSON.stringify(value) });

const ROUTES: Record<string, Route> = {
  '/healthz': { GET: async () => json(200, { status: 'ok' }) },
  '/readyz': {
    GET: async (_url, deps, log) => {
      let checks: ReturnType<AdminDeps['readiness']>;
      try {
        checks = deps.readiness();
      } catch (err) {
        // A readiness probe that cannot even be answered means "not ready", not a server error: balancers key on 503.
        log.error({ err }, 'readiness check failed');
        return json(503, { status: 'not_ready', checks: {}, failing: ['readinessCheck'] });
      }
      const failing = Object.entries(checks)
        .filter(([, ok]) => !ok)
        .map(([name]) => name);
      return json(failing.length ? 503 : 200, { status: failing.length ? 'not_ready' : 'ready', checks, failing });
    },
  },
  '/metrics': {
    GET: async (_url, deps) => ({
      status: 200,
      body: await deps.metrics.registry.metrics(),
      type: deps.metrics.registry.contentType,
    }),
  },
  '/pipelines': { GET: async (_url, deps) => json(200, deps.pipelines()) },
  '/reload': {
    POST: async (_url, deps) => {
      const result = await deps.reload();
      return json(result.ok ? 200 : 422, result);
    },
  },
  '/dlq': { GET: async (url, deps) => json(200, await deps.dlqList(filterOf(url))) },
  '/dlq/replay': { POST: async (url, deps) => json(200, await deps.dlqReplay(filterOf(url))) },
};

class BadFilter extends Error {}

function filterOf(url: URL): { pipeline?: string; sink?: string } {
  const filter: { pipeline?: string; sink?: string } = {};
  for (const key of ['pipeline', 'sink'] as const) {
    const value = url.searchParams.get(key);
    if (value === null || value === '') continue;
    if (value.length > MAX_FILTER_CHARS) throw new BadFilter();
    filter[key] = value;
  }
  return filter;
}

const OPEN_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Create the admin listener (not yet listening). Every route but `/healthz` and `/readyz` needs `Authorization: Bearer <admin.token>`
 * when `admin.token` is set.
 *
 * @example
 * const admin = createAdminServer({ config, metrics, logger, readiness, pipelines, reload, dlqList, dlqReplay });
 * const { port } = await admin.listen();   // GET http://127.0.0.1:<port>/readyz
 * await admin.close();
 */
export function createAdminServer(deps: AdminDeps): AdminServer {
  const { host, port, token } = deps.config.admin;
  const expected = token === undefined ? undefined : digest(token);
  const log = deps.logger.child({ component: 'admin' });
  const sockets = new Set<Socket>();

  const server = createServer(
    { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS },
    (req, res) => {
      let received = 0;
      let refused = false;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_BODY_BYTES && !refused) {
          // Answer now and keep discarding the rest (bounded by the request timeout), so the client reads the 413, not a reset.
          refused = true;
          send(res, ERRORS.payload_too_large.status, errorBody('payload_too_large'));
        }
      });
      req.on('end', () => {
        if (!refused) void handle(req, res);
      });
      req.on('error', () => res.destroy());
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const route = ROUTES[url.pathname];
    const method = req.method === 'HEAD' ? 'GET' : (req.method as 'GET' | 'POST');
    // Probes stay open: a load balancer's health check cannot send a bearer token, and they reveal nothing.
    if (!OPEN_PATHS.has(url.pathname) && expected && !authorized(req.headers.authorization, expected)) {
      return send(res, ERRORS.unauthorized.status, errorBody('unauthorized'), {
        'www-authenticate': 'Bearer realm="hookroute-admin"',
      });
    }
    if (!route) return send(res, ERRORS.not_found.status, errorBody('not_found'));
    const handler = route[method];
    if (!handler)
      return send(res, ERRORS.method_not_allowed.status, errorBody('method_not_allowed'), { allow: allowed(route) });
    try {
      const out = await handler(url, deps, log);
      send(res, out.status, out.body, out.type ? { 'content-type': out.type } : undefined);
    } catch (err) {
      if (err instanceof BadFilter) return send(res, ERRORS.bad_request.status, errorBody('bad_request'));
      log.error({ err, path: url.pathname }, 'admin request failed');
      send(res, ERRORS.admin_action_failed.status, errorBody('admin_action_failed'));
    }
  }

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const bound = (server.address() as AddressInfo).port;
          log.info({ host, port: bound, tokenRequired: expected !== undefined }, 'admin listening');
          resolve({ port: bound });
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** `Bearer <token>`, compared in constant time against the configured token's digest. */
function authorized(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  // Compare something even when the header is missing or malformed, so timing does not tell which case it was.
  return secretMatches(m?.[1] ?? '', expected) && m !== null;
}

function allowed(route: Route): string {
  return Object.keys(route)
    .flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]))
    .join(', ');
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(body);
}
