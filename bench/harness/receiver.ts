// A loopback HTTP receiver that counts what the http sink delivers (the other end of `http-sink` and `backlog`).
import { createServer, type Server } from 'node:http';

export interface Receiver {
  port: number;
  /** Requests received with a complete body. */
  count(): number;
  /** Resolves when `count() >= n`, or with false after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Listen on 127.0.0.1:`port` (0: any) and answer 200 to every request, counting them.
 * @example const r = await startReceiver(0); ...; await r.waitFor(1000, 30_000)
 */
export function startReceiver(port: number): Promise<Receiver> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) req.destroy(); // the sink sends single events; anything bigger is a bug, not load
    });
    req.on('end', () => {
      received++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        count: () => received,
        waitFor(n, timeoutMs) {
          const deadline = performance.now() + timeoutMs;
          return new Promise((done) => {
            const check = () => {
              if (received >= n) return done(true);
              if (performance.now() > deadline) return done(false);
              setTimeout(check, 20);
            };
            check();
          });
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
