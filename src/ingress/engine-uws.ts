// The uWebSockets.js engine: one catch-all route that hands every request to the ingress core, on a native binary only.
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { statusLine } from '../errors.ts';
import type { EngineRequest, Headers, HttpEngine, TlsPem } from './engine.ts';
import type { NativeUws } from './uws-binary.ts';

/** uSockets LIBUS_LISTEN_EXCLUSIVE_PORT (the `ListenOptions` enum is declared in the typings but not exported as a value). */
const EXCLUSIVE_PORT = 1;
type ListenWithOptions = (
  this: TemplatedApp,
  host: string,
  port: number,
  options: number,
  cb: (socket: us_listen_socket | false) => void,
) => void;

// uWS walks headers with a callback; a module-level accumulator keeps that walk allocation-free.
let headerBytes = 0;
function countHeader(key: string, value: string): void {
  headerBytes += key.length + value.length + 4;
}

/** A uWS request/response pair. `req` dies when the route handler returns; `res` dies on abort, so the core checks first. */
class UwsRequest implements EngineRequest {
  readonly method: string;
  readonly path: string;

  constructor(
    private readonly req: HttpRequest,
    private readonly res: HttpResponse,
  ) {
    this.method = req.getMethod().toUpperCase();
    this.path = req.getUrl();
  }

  header(name: string): string {
    return this.req.getHeader(name);
  }

  headerBytes(): number {
    headerBytes = 0;
    this.req.forEach(countHeader);
    return headerBytes;
  }

  peer(): Uint8Array {
    return new Uint8Array(this.res.getRemoteAddress().slice(0));
  }

  read(onData: (chunk: ArrayBuffer, last: boolean) => void, onAborted: () => void): void {
    this.res.onAborted(onAborted);
    this.res.onData(onData);
  }

  respond(status: number, body: string, headers: Headers | undefined, close: boolean): void {
    const res = this.res;
    res.cork(() => {
      res.writeStatus(statusLine(status)).writeHeader('Content-Type', 'application/json');
      if (headers) for (const [k, v] of headers) res.writeHeader(k, v);
      res.end(body, close);
    });
  }
}

/**
 * The uWS engine on an already loaded native binary (see `loadNativeUws`).
 *
 * @example
 * const engine = new UwsEngine(loadNativeUws()!);
 * const port = await engine.listen('127.0.0.1', 0, (req) => req.respond(200, '{}', undefined, false), () => {});
 */
export class UwsEngine implements HttpEngine {
  readonly name = 'uws';
  readonly detail: string;
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;

  constructor(private readonly native: NativeUws) {
    this.detail = native.binary;
    this.app = native.uws.App();
  }

  listen(host: string, port: number, onRequest: (req: EngineRequest) => void): Promise<number> {
    this.app.any('/*', (res, req) => onRequest(new UwsRequest(req, res)));
    return new Promise((resolve, reject) => {
      // uWS listens with SO_REUSEPORT by default: a second daemon on the same port would silently split the traffic.
      // The exclusive flag makes it fail like any other server. (The native binding takes host, port, options; its typings omit that form.)
      (this.app.listen as unknown as ListenWithOptions).call(this.app, host, port, EXCLUSIVE_PORT, (socket) => {
        if (!socket)
          return reject(new Error(`ingress cannot listen on ${host}:${port} (address in use or not available)`));
        this.listenSocket = socket;
        resolve(this.native.uws.us_socket_local_port(socket));
      });
    });
  }

  setCertificate(_pem: TlsPem): void {
    throw new Error('the uWebSockets.js engine does not serve TLS (chooseEngine picks node:https for server.tls)');
  }

  close(): void {
    if (this.listenSocket) this.native.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
    // Also drops keep-alive connections, so the process can exit.
    (this.app as TemplatedApp & { close?: () => void }).close?.();
  }
}
