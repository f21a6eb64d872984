// The public webhook listener on uWebSockets.js: cheap checks on the request head, a bounded body read, then the hand-off.
import uwsPackage, {
  type HttpRequest,
  type HttpResponse,
  type TemplatedApp,
  type us_listen_socket,
} from 'uWebSockets.js';
import type { Metrics } from '../admin/metrics.ts';
import type { Config } from '../config/schema.ts';
import { ERRORS, errorBody, statusLine, type ErrorCode } from '../errors.ts';
import { HandoffRefused, type EventHandoff, type IncomingEvent, type ValidationIssue } from '../events/record.ts';
import type { Logger } from '../log.ts';
import { QuarantineLog } from '../events/quarantine-log.ts';
import { createAuthenticator, type Authenticator } from './auth.ts';
import { BodyBuffer, announcedLength, isJsonContentType } from './body.ts';
import { parseEvent } from './event-body.ts';
import { IpAllow } from './ip-allow.ts';
import { loadNativeUws } from './uws-binary.ts';
import { MAX_TOKEN_REQUEST_BYTES, TOKEN_RESPONSE_HEADERS, TokenIssuer, handleTokenRequest } from './oauth.ts';

/** uSockets LIBUS_LISTEN_EXCLUSIVE_PORT (the `ListenOptions` enum is declared in the typings but not exported as a value). */
const EXCLUSIVE_PORT = 1;
type ListenWithOptions = (
  this: TemplatedApp,
  host: string,
  port: number,
  options: number,
  cb: (socket: us_listen_socket | false) => void,
) => void;
export interface IngressDeps {
  /** Loaded config (sizes in bytes). */
  config: Config;
  /** Schema check of a parsed body; [] means valid. */
  validate: (body: Record<string, unknown>) => ValidationIssue[];
  /** Where accepted events go; `accept` resolves once the event is durable. */
  handoff: EventHandoff;
  metrics: Metrics;
  /** Maps an eventName to a bounded metric label. */
  eventLabel: (eventName: string) => string;
  logger: Logger;
}

export interface Ingress {
  /** Listen on config.server.host:port (port 0 works). Resolves with the bound port. Logs the port and whether uWS is native or the JS fallback. */
  listen(): Promise<{ port: number }>;
  /** From now on answer 503 + Retry-After (shutting down) to new requests; requests already in flight still get their answer. */
  stopAccepting(): void;
  /** Resolves when no request is in flight (or after timeoutMs). */
  idle(timeoutMs: number): Promise<void>;
  /** Close the listen socket (and idle keep-alive connections). */
  close(): void;
  readonly native: boolean;
}

/** The native binary that fits this Node and glibc; the trufflesuite package's JS fallback only when none does. */
const LOADED = loadNativeUws();
const uWS = LOADED?.uws ?? uwsPackage;
const NATIVE = LOADED !== undefined;
const BINARY = LOADED?.binary;
/** Most validation issues listed in a 422 body: the rest are summarised by a count. */
const MAX_ISSUES_IN_BODY = 20;
const TOKEN_PATH = '/oauth/token';
const ALLOW_POST = [['Allow', 'POST']] as const;
const RETRY_SOON = [['Retry-After', '1']] as const;
const RETRY_SHUTDOWN = [['Retry-After', '5']] as const;
const OK_BODY = '{"ok":true}';

type Headers = readonly (readonly [string, string])[];

// uWS walks headers with a callback; a module-level accumulator keeps that walk allocation-free.
let headerBytes = 0;
function countHeader(key: string, value: string): void {
  headerBytes += key.length + value.length + 4;
}

/** One request whose answer comes after an await: uWS forbids touching `res` once aborted, so every write checks. */
class Exchange {
  aborted = false;
  responded = false;
  /** A hand-off is running: the request counts as in flight until it settles, answered or not. */
  pending = false;
  released = false;

  constructor(
    readonly server: UwsIngress,
    readonly res: HttpResponse,
    readonly start: number,
    readonly body: BodyBuffer,
    readonly isToken: boolean,
    readonly authorization: string,
    readonly contentType: string,
  ) {}

  readonly onAborted = (): void => {
    this.aborted = true;
    this.server.release(this);
  };

  readonly onData = (chunk: ArrayBuffer, isLast: boolean): void => {
    if (this.responded || this.aborted) return;
    if (!this.body.add(chunk)) return this.server.answerError(this, 'payload_too_large', undefined, true);
    if (!isLast) return;
    if (this.isToken) this.server.completeToken(this);
    else this.server.completeWebhook(this);
  };
}

class UwsIngress implements Ingress {
  readonly native = NATIVE;
  private readonly app: TemplatedApp;
  private readonly auth: Authenticator;
  private readonly challengeHeaders: Headers;
  private readonly issuer: TokenIssuer | undefined;
  private readonly ipAllow: IpAllow;
  private readonly readForwarded: boolean;
  private readonly statusCounters = new Map<number, { inc(): void }>();
  private readonly quarantineLog: QuarantineLog;
  private listenSocket: us_listen_socket | undefined;
  private accepting = true;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: IngressDeps) {
    const { server, auth } = deps.config;
    // uWS reads `:name` and `*` in a route as patterns: the webhook path must be literal.
    if (/[:*?#\s]/.test(server.path))
      throw new Error(`server.path "${server.path}" must be a plain path (no ':', '*', '?', '#' or spaces)`);
    if (auth.mode === 'oauth2' && server.path === TOKEN_PATH)
      throw new Error(`server.path cannot be ${TOKEN_PATH} in oauth2 mode (the token endpoint lives there)`);
    this.issuer = auth.mode === 'oauth2' && auth.oauth2 ? new TokenIssuer(auth.oauth2) : undefined;
    this.quarantineLog = new QuarantineLog(deps.logger);
    this.auth = createAuthenticator(auth, this.issuer);
    this.challengeHeaders = this.auth.challenge === undefined ? [] : [['WWW-Authenticate', this.auth.challenge]];
    // The JS fallback cannot tell the peer address; starting would silently let every source in.
    if (!NATIVE && auth.allowIps.length > 0)
      throw new Error(
        'auth.allowIps needs the native uWebSockets.js binary, which does not load on this platform/Node version',
      );
    this.ipAllow = new IpAllow(auth.allowIps, server.trustProxy);
    this.readForwarded = server.trustProxy.length > 0;
    this.app = uWS.App();
    if (this.issuer) {
      this.app.post(TOKEN_PATH, (res, req) => this.onRequest(res, req, true));
      this.app.any(TOKEN_PATH, (res) => this.answerNow(res, performance.now(), 'method_not_allowed', ALLOW_POST));
    }
    this.app.post(server.path, (res, req) => this.onRequest(res, req, false));
    this.app.any(server.path, (res) => this.answerNow(res, performance.now(), 'method_not_allowed', ALLOW_POST));
    this.app.any('/*', (res) => this.answerNow(res, performance.now(), 'not_found'));
  }

  listen(): Promise<{ port: number }> {
    const { host, port } = this.deps.config.server;
    return new Promise((resolve, reject) => {
      const onListen = (socket: us_listen_socket | false) => {
        if (!socket)
          return reject(new Error(`ingress cannot listen on ${host}:${port} (address in use or not available)`));
        this.listenSocket = socket;
        const bound = uWS.us_socket_local_port(socket);
        this.deps.logger.info(
          { host, port: bound, path: this.deps.config.server.path, native: this.native, binary: BINARY },
          this.native
            ? 'ingress listening (native uWebSockets.js)'
            : 'ingress listening (uWebSockets.js JS fallback: slower)',
        );
        resolve({ port: bound });
      };
      // uWS listens with SO_REUSEPORT by default: a second daemon on the same port would silently split the traffic.
      // The exclusive flag makes it fail like any other server. (The native binding takes host, port, options; its typings omit that form.)
      if (this.native)
        (this.app.listen as unknown as ListenWithOptions).call(this.app, host, port, EXCLUSIVE_PORT, onListen);
      else this.app.listen(host, port, onListen);
    });
  }

  stopAccepting(): void {
    this.accepting = false;
  }

  idle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
    // Also drops idle keep-alive connections, so the process can exit.
    (this.app as TemplatedApp & { close?: () => void }).close?.();
  }

  /** Head checks, all synchronous because `req` is only valid inside this call; then the body read starts. */
  private onRequest(res: HttpResponse, req: HttpRequest, isToken: boolean): void {
    const start = performance.now();
    const { server } = this.deps.config;
    if (!this.accepting) return this.answerNow(res, start, 'shutting_down', RETRY_SHUTDOWN);
    if (this.inFlight >= server.maxConnections) return this.answerNow(res, start, 'overloaded', RETRY_SOON);
    if (NATIVE) {
      // The JS fallback runs on node:http, which enforces its own header limit (and has no forEach).
      headerBytes = 0;
      req.forEach(countHeader);
      if (headerBytes > server.maxHeaderBytes) return this.answerNow(res, start, 'headers_too_large', undefined, true);
    }
    const length = announcedLength(req.getHeader('content-length'));
    const limit = isToken ? MAX_TOKEN_REQUEST_BYTES : server.maxBodyBytes;
    // uWS skips an unread body to keep the connection; one larger than the limit is not worth receiving, so close instead.
    const closeOnError = !(length <= limit);
    if (!this.ipAllow.allowsAll) {
      const peer = new Uint8Array(res.getRemoteAddress().slice(0));
      if (!this.ipAllow.allows(peer, this.readForwarded ? req.getHeader('x-forwarded-for') : ''))
        return this.answerNow(res, start, 'forbidden', undefined, closeOnError);
    }
    const authorization = req.getHeader('authorization');
    const contentType = req.getHeader('content-type');
    if (!isToken) {
      const challenge = this.auth.challenge;
      if (
        challenge !== undefined &&
        !this.auth.check(authorization, this.auth.extraHeader ? req.getHeader(this.auth.extraHeader) : '')
      ) {
        return this.answerNow(res, start, 'unauthorized', this.challengeHeaders, closeOnError);
      }
      if (!isJsonContentType(contentType))
        return this.answerNow(res, start, 'unsupported_media_type', undefined, closeOnError);
    }
    // Announced too large: answer before reading a byte, and close, since the unread body would follow on this connection.
    if (length > limit) return this.answerNow(res, start, 'payload_too_large', undefined, true);
    if (Number.isNaN(length)) return this.answerNow(res, start, 'invalid_content_length', undefined, true);
    const ex = new Exchange(
      this,
      res,
      start,
      new BodyBuffer(limit, length),
      isToken,
      isToken ? authorization : '',
      isToken ? contentType : '',
    );
    this.inFlight++;
    res.onAborted(ex.onAborted);
    res.onData(ex.onData);
  }

  /** The body is complete: parse, validate, hand off. Any throw becomes a 500, never an unhandled error in uWS's callback. */
  completeWebhook(ex: Exchange): void {
    const { validate, handoff, metrics, config } = this.deps;
    try {
      const raw = ex.body.take();
      const parsed = parseEvent(raw);
      if ('error' in parsed) return this.answerError(ex, parsed.error);
      const issues = validate(parsed.body);
      if (issues.length > 0 && config.validation.onInvalid === 'reject') {
        metrics.eventsRejected.inc({ event: this.deps.eventLabel(parsed.eventName) });
        return this.answerInvalid(ex, issues);
      }
      const event: IncomingEvent = {
        receivedAt: Date.now(),
        eventName: parsed.eventName,
        raw,
        body: parsed.body,
        invalid: issues.length > 0 ? issues : undefined,
      };
      ex.pending = true;
      const eventName = parsed.eventName;
      const quarantined = issues.length > 0 ? issues : undefined;
      let stored: Promise<void>;
      try {
        stored = handoff.accept(event);
      } catch (err) {
        stored = Promise.reject(err);
      }
      stored
        .then(
          () => this.accepted(ex, eventName, quarantined),
          (err: unknown) => this.refused(ex, err),
        )
        .catch((err: unknown) => this.failed(ex, err));
    } catch (err) {
      this.failed(ex, err);
    }
  }

  /** Last resort for a bug on the request path: answer 500 if still possible, and never leave the request counted in flight. */
  private failed(ex: Exchange, err: unknown): void {
    this.deps.logger.error({ err }, 'ingress failed to process a request');
    ex.pending = false;
    this.answerError(ex, 'internal_error');
    this.release(ex);
  }

  completeToken(ex: Exchange): void {
    try {
      const out = handleTokenRequest(this.issuer!, ex.authorization, ex.contentType, ex.body.take());
      const headers: Headers = out.challenge
        ? [...TOKEN_HEADER_LIST, ['WWW-Authenticate', out.challenge]]
        : TOKEN_HEADER_LIST;
      this.write(ex, out.status, out.body, headers, false);
    } catch (err) {
      this.failed(ex, err);
    }
  }

  private accepted(ex: Exchange, eventName: string, quarantined: ValidationIssue[] | undefined): void {
    ex.pending = false;
    // The event is durable: answer first, so that a failure in the bookkeeping below cannot turn it into a 500 (and a duplicate).
    this.write(ex, 200, OK_BODY, undefined, false);
    this.release(ex);
    const label = this.deps.eventLabel(eventName);
    this.deps.metrics.eventsAccepted.inc({ event: label });
    if (quarantined) {
      this.deps.metrics.eventsQuarantined.inc({ event: label });
      this.quarantineLog.note(label, quarantined);
    }
  }

  private refused(ex: Exchange, err: unknown): void {
    ex.pending = false;
    if (err instanceof HandoffRefused) {
      this.deps.logger.debug({ reason: err.reason }, 'hand-off refused an event');
      this.answerError(ex, err.reason, [['Retry-After', String(Math.max(1, Math.ceil(err.retryAfterSeconds)))]]);
    } else {
      this.deps.logger.error({ err }, 'hand-off failed; answered 500');
      this.answerError(ex, 'internal_error');
    }
    this.release(ex);
  }

  private answerInvalid(ex: Exchange, issues: ValidationIssue[]): void {
    const shown = issues
      .slice(0, MAX_ISSUES_IN_BODY)
      .map((i) => ({ path: String(i.path).slice(0, 512), message: String(i.message).slice(0, 512) }));
    const body = JSON.stringify({
      error: 'invalid_event',
      message: ERRORS.invalid_event.message,
      issues: shown,
      ...(issues.length > shown.length ? { moreIssues: issues.length - shown.length } : {}),
    });
    this.write(ex, ERRORS.invalid_event.status, body, undefined, false);
  }

  /** Error answer on an exchange (after the body started): skipped when the client is gone or already answered. */
  answerError(ex: Exchange, code: ErrorCode, headers?: Headers, close = false): void {
    this.write(ex, ERRORS[code].status, errorBody(code), headers, close);
  }

  private write(ex: Exchange, status: number, body: string, headers: Headers | undefined, close: boolean): void {
    if (ex.aborted || ex.responded) return;
    ex.responded = true;
    const { res } = ex;
    res.cork(() => writeResponse(res, status, body, headers, close));
    this.count(status, ex.start);
    this.release(ex);
  }

  /** Answer inside the route handler (no await happened, so no onAborted is needed). */
  private answerNow(res: HttpResponse, start: number, code: ErrorCode, headers?: Headers, close = false): void {
    writeResponse(res, ERRORS[code].status, errorBody(code), headers, close);
    this.count(ERRORS[code].status, start);
  }

  private count(status: number, start: number): void {
    let counter = this.statusCounters.get(status);
    if (!counter) this.statusCounters.set(status, (counter = this.deps.metrics.requests.labels(String(status))));
    counter.inc();
    this.deps.metrics.ingressLatency.observe((performance.now() - start) / 1000);
  }

  /** An exchange is done once answered or aborted and no hand-off is still running; only then it stops counting as in flight. */
  release(ex: Exchange): void {
    if (ex.released || ex.pending || !(ex.responded || ex.aborted)) return;
    ex.released = true;
    if (--this.inFlight === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

const TOKEN_HEADER_LIST: Headers = Object.entries(TOKEN_RESPONSE_HEADERS);

function writeResponse(
  res: HttpResponse,
  status: number,
  body: string,
  headers: Headers | undefined,
  close: boolean,
): void {
  res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'application/json');
  if (headers) for (const [k, v] of headers) res.writeHeader(k, v);
  res.end(body, close);
}

/**
 * Build the ingress. Nothing listens until `listen()`.
 *
 * @example
 * const ingress = createIngress({ config, validate, handoff, metrics, eventLabel, logger });
 * const { port } = await ingress.listen();
 * // on SIGTERM:
 * ingress.stopAccepting(); await ingress.idle(5000); ingress.close();
 */
export function createIngress(deps: IngressDeps): Ingress {
  return new UwsIngress(deps);
}
