// The ingress adapter seam: what an HTTP engine (uWebSockets.js or node:http) gives the ingress core, and which one runs.
import type { Config } from '../config/schema.ts';
import { loadNativeUws, type NativeUws } from './uws-binary.ts';

/** Response headers as name/value pairs (Content-Type and Content-Length are the engine's). */
export type Headers = readonly (readonly [string, string])[];

/**
 * One request as the ingress core sees it, whatever the engine. The head accessors (`method` to `peer`) are valid
 * only synchronously inside the `onRequest` call (uWS frees the request head once it returns).
 */
export interface EngineRequest {
  /** Upper case, as sent. */
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** A header by lower-case name; '' when absent. */
  header(name: string): string;
  /** Bytes of all header names and values, 4 more per header (`: ` and CRLF): the same count on every engine. */
  headerBytes(): number;
  /** The TCP peer as 4 or 16 bytes. */
  peer(): Uint8Array;
  /** Start reading the body: chunks in order, the last one flagged; `onAborted` when the client goes away first. */
  read(onData: (chunk: ArrayBuffer | Uint8Array, last: boolean) => void, onAborted: () => void): void;
  /** Answer once, with a JSON body; `close` ends the connection after it (the rest of the body is not read). */
  respond(status: number, body: string, headers: Headers | undefined, close: boolean): void;
}

/** The certificate and key the HTTPS listener serves (PEM). */
export interface TlsPem {
  cert: Buffer;
  key: Buffer;
}

/** An HTTP listener behind the ingress core. */
export interface HttpEngine {
  readonly name: EngineName;
  /** What runs: the native binary's path, or `node:http` / `node:https`. */
  readonly detail: string;
  /**
   * Listen exclusively (a second daemon on the port fails rather than splitting traffic). `onRefused` hears the status of
   * requests the engine answered itself, before `onRequest` (malformed heads on node:http).
   */
  listen(
    host: string,
    port: number,
    onRequest: (req: EngineRequest) => void,
    onRefused: (status: number) => void,
  ): Promise<number>;
  /** Serve this certificate to new connections; connections already open keep theirs. */
  setCertificate(pem: TlsPem): void;
  /** Close the listener and every connection. */
  close(): void;
}

export type EngineName = 'uws' | 'node';

/** The engine that will run, and why (logged at start). */
export interface EngineChoice {
  name: EngineName;
  reason: string;
  /** The loaded binary when `name` is `uws`. */
  native?: NativeUws;
}

/**
 * Pick the engine for `server.engine`: `uws` needs a native binary (the trufflesuite JS shim is never used) and no TLS
 * (uWS cannot swap a certificate without dropping connections); `auto` takes uWS when it can, node:http otherwise.
 * Throws when `uws` is asked for and cannot run.
 *
 * @example
 * chooseEngine({ engine: 'auto' }) // { name: 'node', reason: 'no native uWebSockets.js binary for Node v22.… (ABI 127) …' }
 */
export function chooseEngine(server: Pick<Config['server'], 'engine' | 'tls'>): EngineChoice {
  if (server.engine === 'node') return { name: 'node', reason: 'server.engine: node' };
  if (server.tls) {
    const reason =
      'server.tls is set: node:https swaps certificates without dropping connections, uWebSockets.js cannot';
    if (server.engine === 'uws') throw new Error(`server.engine: uws cannot serve server.tls (${reason})`);
    return { name: 'node', reason };
  }
  const native = loadNativeUws();
  if (native) return { name: 'uws', reason: `server.engine: ${server.engine}`, native };
  const missing = `no native uWebSockets.js binary for Node ${process.version} (ABI ${process.versions.modules}) on ${process.platform}-${process.arch}${glibcNote()}`;
  if (server.engine === 'uws') throw new Error(`server.engine: uws: ${missing}`);
  return { name: 'node', reason: missing };
}

function glibcNote(): string {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? ` (glibc ${header.glibcVersionRuntime})` : '';
}
