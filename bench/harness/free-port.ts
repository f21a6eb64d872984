// A free loopback TCP port, for configs that must name their ports up front.
import { createServer } from 'node:net';

/**
 * Ask the OS for a free port on 127.0.0.1 and release it (tiny race, fine for a bench).
 * @example const port = await freePort();
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
