// The public webhook listener: cheap checks on the request head, a bounded body read, then the hand-off, on either HTTP engine.
import type { Metrics } from '../admin/metrics.ts';
import type { Config } from '../config/schema.ts';
import { ERRORS, errorBody, type ErrorCode } from '../errors.ts';
import { HandoffRefused, type EventHandoff, type IncomingEvent, type ValidationIssue } from '../events/record.ts';
import type { Logger } from '../log.ts';
import { QuarantineLog } from '../events/quarantine-log.ts';
import { INVALID_TOKEN_CHALLENGE, createAuthenticator, type AuthOutcome, type Authenticator } from './auth.ts';
import { BodyBuffer, announcedLength, isJsonContentType } from './body.ts';
import {
  chooseEngine,
  type EngineChoice,
  type EngineName,
  type EngineRequest,
  type Headers,
  type HttpEngine,
} from './engine.ts';
import { NodeEngine } from './engine-node.ts';
import { UwsEngine } from './engine-uws.ts';
import { parseEvent } from './event-body.ts';
import { IpAllow } from './ip-allow.ts';
import { JwtVerifier } from './jwt-verify.ts';
import { MAX_TOKEN_REQUEST_BYTES, TOKEN_RESPONSE_HEADERS, TokenIssuer, handleTokenRequest } from './oauth.ts';
import { TlsFiles, describeCertificate, readTlsPair } from './tls-files.ts';

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
  /** Listen on config.server.host:port (port 0 works), over HTTPS with `server.tls`. Resolves with the bound port. Logs the engine and why it was chosen. */
  listen(): Promise<{ port: number }>;
  /** From now on answer 503 + Retry-After (shutting down) to new requests; requests already in flight still get their answer. */
  stopAccepting(): void;
  /** Resolves when no request is in flight (or after timeoutMs). */
  idle(timeoutMs: number): Promise<void>;
  /** Read `server.tls` files again (SIGHUP); open connections keep going. False (logged) when they do not load; no-op true without TLS. */
  reloadTls(reason: string): Promise<boolean>;
  /** Close the listen socket and every connection; stop refreshing the JWKS. */
  close(): void;
  /** Load `auth.oauth2.jwt`'s JWKS again now (SIGHUP, admin reload); resolves at once without one. */
  reloadKeys(): Promise<void>;
  /** `uws` (native uWebSockets.js) or `node` (node:http / node:https). */
  readonly engine: EngineName;
}

/** Most validation issues listed in a 422 body: the rest are summarised by a count. */
const MAX_ISSUES_IN_BODY = 20;
const TOKEN_PATH = '/oauth/token';
const ALLOW_POST = [['Allow', 'POST']] as const;
const RETRY_SOON = [['Retry-After', '1']] as const;
const RETRY_SHUTDOWN = [['Retry-After', '5']] as const;
const RETRY_KEYS = [['Retry-After', '10']] as const;
const INVALID_TOKEN = [['WWW-Authenticate', INVALID_TOKEN_CHALLENGE]] as const;
const OK_BODY = '{"ok":true}';

/** One request whose answer comes after an await: the client may be gone by then (uWS forbids touching it), so every write checks. */
class Exchange {
  aborted = false;
  responded = false;
  /** A hand-off is running: the request counts as in flight until it settles, answered or not. */
  pending = false;
  /** A JWT's signature check is running: the body is read meanwhile, and handled once both are done. */
  authPending = false;
  bodyDone = false;
  released = false;

  constructor(
    readonly server: IngressCore,
    readonly req: EngineRequest,
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

  readonly onData = (chunk: ArrayBuffer | Uint8Array, isLast: boolean): void => {
    if (this.responded || this.aborted) return;
    if (!this.body.add(chunk)) return this.server.answerError(this, 'payload_too_large', undefined, true);
    if (!isLast) return;
    this.bodyDone = true;
    if (this.authPending) return;
    if (this.isToken) this.server.completeToken(this);
    else this.server.completeWebhook(this);
  };
}

class IngressCore implements Ingress {
  readonly engine: EngineName;
  private readonly choice: EngineChoice;
  private http: HttpEngine | undefined;
  private tlsFiles: TlsFiles | undefined;
  private readonly auth: Authenticator;
  private readonly challengeHeaders: Headers;
  private readonly issuer: TokenIssuer | undefined;
  private readonly jwt: JwtVerifier | undefined;
  private readonly ipAllow: IpAllow;
  private readonly readForwarded: boolean;
  private readonly statusCounters = new Map<number, { inc(): void }>();
  private readonly refusalCounters = new Map<string, { inc(): void }>();
  private readonly quarantineLog: QuarantineLog;
  private accepting = true;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deps: IngressDeps) {
    const { server, auth } = deps.config;
    // Kept from the uWS route syntax, where `:name` and `*` are patterns, so that a config means the same on every engine.
    if (/[:*?#\s]/.test(server.path))
      throw new Error(`server.path "${server.path}" must be a plain path (no ':', '*', '?', '#' or spaces)`);
    const oauth2 = auth.mode === 'oauth2' ? auth.oauth2 : undefined;
    this.issuer = oauth2 && oauth2.clients.length > 0 ? new TokenIssuer(oauth2) : undefined;
    if (this.issuer && server.path === TOKEN_PATH)
      throw new Error(`server.path cannot be ${TOKEN_PATH} in oauth2 mode (the token endpoint lives there)`);
    this.jwt = oauth2?.jwt ? new JwtVerifier(oauth2.jwt, { logger: deps.logger }) : undefined;
    this.choice = chooseEngine(server);
    this.engine = this.choice.name;
    this.quarantineLog = new QuarantineLog(deps.logger);
    this.auth = createAuthenticator(auth, this.issuer, this.jwt);
    this.challengeHeaders = this.auth.challenge === undefined ? [] : [['WWW-Authenticate', this.auth.challenge]];
    this.ipAllow = new IpAllow(auth.allowIps, server.trustProxy);
    this.readForwarded = server.trustProxy.length > 0;
  }

  async listen(): Promise<{ port: number }> {
    // Keys first, so the first webhooks find them; a JWKS that cannot be had is logged and retried, and does not stop the start.
    await this.jwt?.start();
    const { host, port, path, tls } = this.deps.config.server;
    const pem = tls ? await readTlsPair(tls) : undefined;
    const http = (this.http =
      this.choice.name === 'uws'
        ? new UwsEngine(this.choice.native!)
        : new NodeEngine({ maxHeaderBytes: this.deps.config.server.maxHeaderBytes }, pem));
    const bound = await http.listen(
      host,
      port,
      (req) => this.onRequest(req),
      (status) => this.count(status, performance.now()),
    );
    if (tls) {
      this.tlsFiles = new TlsFiles(tls, this.deps.logger, (next) => http.setCertificate(next));
      this.tlsFiles.watch();
    }
    this.deps.logger.info(
      {
        host,
        port: bound,
        path,
        engine: http.name,
        // `native` as before this seam existed (log searches and the build test look for it).
        native: http.name === 'uws',
        binary: http.name === 'uws' ? http.detail : undefined,
        why: this.choice.reason,
        node: process.version,
        ...(pem ? { tls: describeCertificate(pem.cert) } : {}),
      },
      `ingress listening (${http.name === 'uws' ? 'native uWebSockets.js' : http.detail})`,
    );
    return { port: bound };
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

  reloadTls(reason: string): Promise<boolean> {
    return this.tlsFiles ? this.tlsFiles.reload(reason) : Promise.resolve(true);
  }

  async reloadKeys(): Promise<void> {
    await this.jwt?.keys.refresh('reload');
  }

  close(): void {
    this.jwt?.close();
    this.tlsFiles?.close();
    this.tlsFiles = undefined;
    this.http?.close();
    this.http = undefined;
  }

  /** Routing, then the head checks, all synchronous because the head is only valid inside this call; then the body read starts. */
  private onRequest(req: EngineRequest): void {
    const start = performance.now();
    const { server } = this.deps.config;
    const path = req.path;
    let isToken = false;
    if (path === server.path) {
      if (req.method !== 'POST') return this.answerNow(req, start, 'method_not_allowed', ALLOW_POST);
    } else if (this.issuer && path === TOKEN_PATH) {
      if (req.method !== 'POST') return this.answerNow(req, start, 'method_not_allowed', ALLOW_POST);
      isToken = true;
    } else return this.answerNow(req, start, 'not_found');
    if (!this.accepting) return this.answerNow(req, start, 'shutting_down', RETRY_SHUTDOWN);
    if (this.inFlight >= server.maxConnections) return this.answerNow(req, start, 'overloaded', RETRY_SOON);
    if (req.headerBytes() > server.maxHeaderBytes)
      return this.answerNow(req, start, 'headers_too_large', undefined, true);
    const length = announcedLength(req.header('content-length'));
    const limit = isToken ? MAX_TOKEN_REQUEST_BYTES : server.maxBodyBytes;
    // An unread body is skipped to keep the connection; one larger than the limit is not worth receiving, so close instead.
    const closeOnError = !(length <= limit);
    if (!this.ipAllow.allowsAll) {
      if (!this.ipAllow.allows(req.peer(), this.readForwarded ? req.header('x-forwarded-for') : ''))
        return this.answerNow(req, start, 'forbidden', undefined, closeOnError);
    }
    const authorization = req.header('authorization');
    const contentType = req.header('content-type');
    let authPending: Promise<AuthOutcome> | undefined;
    if (!isToken) {
      if (this.auth.challenge !== undefined) {
        const outcome = this.auth.check(authorization, this.auth.extraHeader ? req.header(this.auth.extraHeader) : '');
        if (outcome instanceof Promise) authPending = outcome;
        else if (outcome !== true) {
          this.countRefusal(outcome);
          return this.answerNow(req, start, outcome, this.refusalHeaders(outcome), closeOnError);
        }
      }
      if (!isJsonContentType(contentType))
        return this.answerNow(req, start, 'unsupported_media_type', undefined, closeOnError);
    }
    // Announced too large: answer before reading a byte, and close, since the unread body would follow on this connection.
    if (length > limit) return this.answerNow(req, start, 'payload_too_large', undefined, true);
    if (Number.isNaN(length)) return this.answerNow(req, start, 'invalid_content_length', undefined, true);
    const ex = new Exchange(
      this,
      req,
      start,
      new BodyBuffer(limit, length),
      isToken,
      isToken ? authorization : '',
      isToken ? contentType : '',
    );
    this.inFlight++;
    req.read(ex.onData, ex.onAborted);
    if (authPending) {
      ex.authPending = true;
      authPending.then(
        (outcome) => this.authSettled(ex, outcome),
        (err: unknown) => this.failed(ex, err),
      );
    }
  }

  /** A JWT check finished: refuse (closing if the body is still arriving), or go on once the body is complete. */
  private authSettled(ex: Exchange, outcome: AuthOutcome): void {
    ex.authPending = false;
    if (ex.aborted || ex.responded) return;
    if (outcome !== true) {
      this.countRefusal(outcome);
      return this.answerError(ex, outcome, this.refusalHeaders(outcome), !ex.bodyDone);
    }
    if (ex.bodyDone) this.completeWebhook(ex);
  }

  /** 401 with the challenge (RFC 6750 `invalid_token` for a JWT), or 503 + Retry-After while the JWKS cannot be had. */
  private refusalHeaders(code: Exclude<AuthOutcome, true>): Headers {
    if (code === 'unauthorized') return this.challengeHeaders;
    if (code === 'auth_unavailable') return RETRY_KEYS;
    return INVALID_TOKEN;
  }

  private countRefusal(code: string): void {
    let counter = this.refusalCounters.get(code);
    if (!counter) this.refusalCounters.set(code, (counter = this.deps.metrics.authRefusals.labels(code)));
    counter.inc();
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
    ex.req.respond(status, body, headers, close);
    this.count(status, ex.start);
    this.release(ex);
  }

  /** Answer inside the route handler (no await happened, so no onAborted is needed). */
  private answerNow(req: EngineRequest, start: number, code: ErrorCode, headers?: Headers, close = false): void {
    req.respond(ERRORS[code].status, errorBody(code), headers, close);
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

/**
 * Build the ingress on the engine `server.engine` picks (throws when `uws` is asked for and cannot run). Nothing listens until `listen()`.
 *
 * @example
 * const ingress = createIngress({ config, validate, handoff, metrics, eventLabel, logger });
 * const { port } = await ingress.listen();
 * // on SIGTERM:
 * ingress.stopAccepting(); await ingress.idle(5000); ingress.close();
 */
export function createIngress(deps: IngressDeps): Ingress {
  return new IngressCore(deps);
}
