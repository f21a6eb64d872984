// The seen keys of every deduped pipeline in memory: one bounded SeenTable per pipeline, behind the SeenKeyStore seam.
import type { SeenKey, SeenKeyStore } from '../storage/seen-keys.ts';
import { SeenTable, type KeyHash } from './seen-table.ts';

/** The most keys one pipeline may hold (`dedupe.maxKeys` is checked against it); recovery holds up to this until the pipelines are read. */
export const MAX_KEYS_LIMIT = 10_000_000;

/**
 * The memory half of a driver's seen-key store; what makes it durable is the driver's business (see `SeenKeyStore`).
 * Alone (no driver behind it), keys last until the process ends.
 * @example
 * const seen = new MemorySeenKeys();
 * seen.remember({ pipeline: 'alerts', hash, eventId: 7, expiresAt: now + 86_400_000 }, 1_000_000, now);
 */
export class MemorySeenKeys implements SeenKeyStore {
  private readonly tables = new Map<string, SeenTable>();

  /** `limits` (pipeline → maxKeys), when known at open, bound what `restore` holds: other pipelines' keys are skipped. */
  constructor(private readonly limits?: ReadonlyMap<string, number>) {}

  firstEvent(pipeline: string, hash: KeyHash, now: number): number | undefined {
    return this.tables.get(pipeline)?.firstEvent(hash, now);
  }

  remember(key: SeenKey, maxKeys: number, now: number): void {
    let table = this.tables.get(key.pipeline);
    if (!table) this.tables.set(key.pipeline, (table = new SeenTable(maxKeys)));
    table.remember(key.hash, key.eventId, key.expiresAt, now);
  }

  /** A key read back from storage at open: held unless already expired (or its pipeline no longer dedupes). */
  restore(key: SeenKey, now = Date.now()): void {
    if (key.expiresAt <= now) return;
    const maxKeys = this.limits ? this.limits.get(key.pipeline) : MAX_KEYS_LIMIT;
    if (maxKeys !== undefined) this.remember(key, maxKeys, now);
  }

  retain(pipelines: ReadonlyMap<string, number>): void {
    for (const [name, table] of this.tables) {
      const maxKeys = pipelines.get(name);
      if (maxKeys === undefined) this.tables.delete(name);
      else table.setMaxKeys(maxKeys);
    }
  }

  /** Bytes of typed arrays a pipeline's keys use now. */
  bytes(pipeline: string): number {
    return this.tables.get(pipeline)?.bytes ?? 0;
  }

  stats(pipeline: string): { keys: number; evicted: number } {
    const t = this.tables.get(pipeline);
    return { keys: t?.size ?? 0, evicted: t?.evicted ?? 0 };
  }
}
