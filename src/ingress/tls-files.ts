// The ingress certificate and key as files: read and checked as a pair, read again on SIGHUP and whenever either file changes.
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../log.ts';
import type { TlsPem } from './engine.ts';

/** How often the files are stat'ed. Polling, unlike fs.watch, follows renames and the symlink swaps of certbot and Kubernetes. */
const POLL_MS = 1000;
/** A renewal writes the certificate and the key one after the other: wait for both before reading. */
const SETTLE_MS = 200;

/**
 * Read the PEM pair and check that it is usable (parses, key matches certificate); throws with the file named.
 *
 * @example
 * const pem = await readTlsPair({ cert: '/etc/hookroute/cert.pem', key: '/etc/hookroute/key.pem' });
 */
export async function readTlsPair(files: { cert: string; key: string }): Promise<TlsPem> {
  const read = (what: 'cert' | 'key') =>
    readFile(files[what]).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`server.tls.${what}: cannot read ${files[what]} (${err.code ?? err.message})`);
    });
  const [cert, key] = await Promise.all([read('cert'), read('key')]);
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(
      `server.tls: ${files.cert} and ${files.key} are not a usable certificate and key (${(err as Error).message})`,
    );
  }
  return { cert, key };
}

/**
 * Keeps the served certificate in step with its files. A pair that does not load is logged and the previous one stays.
 *
 * @example
 * const watcher = new TlsFiles(config.server.tls, logger, (pem) => engine.setCertificate(pem));
 * watcher.watch();
 * process.on('SIGHUP', () => void watcher.reload('SIGHUP'));
 */
export class TlsFiles {
  private timer: NodeJS.Timeout | undefined;
  private readonly onChange = (now: Stats, before: Stats) => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload('file change'), SETTLE_MS);
    this.timer.unref();
  };

  constructor(
    private readonly files: { cert: string; key: string },
    private readonly logger: Logger,
    private readonly apply: (pem: TlsPem) => void,
  ) {}

  /** Start polling both files. */
  watch(): void {
    for (const file of [this.files.cert, this.files.key])
      watchFile(file, { interval: POLL_MS, persistent: false }, this.onChange);
  }

  /** Read both files and serve them to new connections. Resolves false (and logs why) when the pair does not load. */
  async reload(reason: string): Promise<boolean> {
    try {
      const pem = await readTlsPair(this.files);
      this.apply(pem);
      this.logger.info({ reason, ...describeCertificate(pem.cert) }, 'TLS certificate loaded');
      return true;
    } catch (err) {
      this.logger.error(
        { reason, err: (err as Error).message },
        'TLS certificate reload failed; the previous one is still served',
      );
      return false;
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const file of [this.files.cert, this.files.key]) unwatchFile(file, this.onChange);
  }
}

/** What an operator needs to see which certificate is live (never the key). */
export function describeCertificate(cert: Buffer): { subject?: string; validTo?: string; fingerprint256?: string } {
  try {
    const x = new X509Certificate(cert);
    return { subject: x.subject, validTo: x.validTo, fingerprint256: x.fingerprint256 };
  } catch {
    return {};
  }
}
