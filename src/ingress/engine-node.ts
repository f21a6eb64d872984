// The node:http / node:https engine: every ingress feature on any Node version, and TLS with certificates swapped live.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { ERRORS, errorBody, type ErrorCode } from '../errors.ts';
import type { EngineRequest, Headers, HttpEngine, TlsPem } from './engine.ts';
import { parseAddress } from './ip-allow.ts';

const EMPTY = new Uint8Array(0);
const UNKNOWN_PEER = new Uint8Array(16);
/** Room for the request line on top of `maxHeaderBytes`: node counts it in, the ingress core (like uWS) does not. */
const REQUEST_LINE_ALLOWANCE = 8 * 1024;
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

class NodeRequest implements EngineRequest {
  readonly method: string;
  readonly path: string;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
  ) {
    this.method = req.method ?? '';
    const url = req.url ?? '';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
  }

  header(name: string): string {
    const v = this.req.headers[name];
    return v === undefined ? '' : Array.isArray(v) ? v.join(', ') : v;
  }

  headerBytes(): number {
    let n = 0;
    for (const part of this.req.rawHeaders) n += part.length + 2;
    return n;
  }

  peer(): Uint8Array {
    return parseAddress(this.req.socket.remoteAddress ?? '') ?? UNKNOWN_PEER;
  }

  read(onData: (chunk: Uint8Array, last: boolean) => void, onAborted: () => void): void {
    const { req, res } = this;
    req.on('data', (chunk: Buffer) => onData(chunk, false));
    req.on('end', () => onData(EMPTY, true));
    // 'close' also follows a normal answer: only one that comes before the answer is finished is an abort.
    res.on('close', () => {
      if (!res.writableFinished) onAborted();
    });
  }

  respond(status: number, body: string, headers: Headers | undefined, close: boolean): void {
    const out: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    };
    if (headers) for (const [k, v] of headers) out[k] = v;
    if (close) out.Connection = 'close';
    this.res.writeHead(status, out).end(body);
    // A body still arriving would be read to its end to keep the connection; the answer says close, so stop reading it.
    if (close && !this.req.complete) this.res.once('finish', () => this.req.socket.destroySoon());
  }
}

/** Errors node's HTTP parser raises before a request reaches the core, and the answer each gets. */
function parserErrorCode(err: NodeJS.ErrnoException): ErrorCode | undefined {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  if (err.code === 'HPE_INVALID_CONTENT_LENGTH' || err.code === 'HPE_UNEXPECTED_CONTENT_LENGTH')
    return 'invalid_content_length';
  return undefined;
}

/**
 * The node engine: `node:https` when a certificate is given, `node:http` otherwise.
 *
 * @example
 * const engine = new NodeEngine({ maxHeaderBytes: 16384 }, { cert, key });
 * await engine.listen('0.0.0.0', 8443, onRequest, onRefused);
 * engine.setCertificate(renewed); // new connections get it, open ones keep theirs
 */
export class NodeEngine implements HttpEngine {
  readonly name = 'node';
  readonly detail: string;
  private readonly server: http.Server | https.Server;

  constructor(opts: { maxHeaderBytes: number }, tls: TlsPem | undefined) {
    const options = {
      maxHeaderSize: opts.maxHeaderBytes + REQUEST_LINE_ALLOWANCE,
      // A client trickling its head or body holds a connection: bound both well below node's defaults (60 s, 300 s).
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
    };
    this.server = tls ? https.createServer({ ...options, cert: tls.cert, key: tls.key }) : http.createServer(options);
    this.detail = tls ? 'node:https' : 'node:http';
  }

  listen(
    host: string,
    port: number,
    onRequest: (req: EngineRequest) => void,
    onRefused: (status: number) => void,
  ): Promise<number> {
    const server = this.server;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => onRequest(new NodeRequest(req, res)));
    // Node's own answer to a malformed head has no body; the contract wants the JSON error body on every non-2xx.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const code = parserErrorCode(err);
      if (!code || !socket.writable) return socket.destroy();
      const body = errorBody(code);
      const { status } = ERRORS[code];
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      onRefused(status);
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(
          new Error(`ingress cannot listen on ${host}:${port} (${(err as NodeJS.ErrnoException).code ?? err.message})`),
        );
      server.once('error', onError);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', onError);
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  setCertificate(pem: TlsPem): void {
    if (!(this.server instanceof https.Server)) throw new Error('the ingress was started without server.tls');
    this.server.setSecureContext({ cert: pem.cert, key: pem.key });
  }

  close(): void {
    this.server.close();
    // Called after the core waited for requests in flight: what is left is idle keep-alive or stuck clients.
    this.server.closeAllConnections();
  }
}
