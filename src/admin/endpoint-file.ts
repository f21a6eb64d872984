// Where the running daemon's admin API listens, recorded in the storage folder so CLI commands find it even with `admin.port: 0`.
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AdminEndpoint {
  pid: number;
  host: string;
  port: number;
}

const FILE = 'admin.json';

/**
 * Record the bound admin address (atomically; no secrets in it). The daemon calls this after the admin listener is up.
 * @example
 * await writeAdminEndpoint(config.storage.dir, { pid: process.pid, host: config.admin.host, port: adminPort });
 */
export async function writeAdminEndpoint(storageDir: string, endpoint: AdminEndpoint): Promise<void> {
  const file = join(storageDir, FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(endpoint)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** Remove the record at shutdown (a leftover one is ignored anyway once its pid is gone). */
export async function removeAdminEndpoint(storageDir: string): Promise<void> {
  await unlink(join(storageDir, FILE)).catch(() => {});
}

/** The recorded endpoint, if the file exists and is well-formed; the caller checks that `pid` is the live daemon. */
export async function readAdminEndpoint(storageDir: string): Promise<AdminEndpoint | undefined> {
  try {
    const v = JSON.parse(await readFile(join(storageDir, FILE), 'utf8')) as Partial<AdminEndpoint>;
    if (
      typeof v.pid === 'number' &&
      typeof v.host === 'string' &&
      Number.isInteger(v.port) &&
      v.port! > 0 &&
      v.port! < 65536
    ) {
      return { pid: v.pid, host: v.host, port: v.port! };
    }
  } catch {
    // missing or torn: no endpoint
  }
  return undefined;
}
