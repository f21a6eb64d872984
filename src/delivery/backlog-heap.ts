// While a large backlog is owed, size the V8 heap for memory instead of throughput, so an outage costs disk, not RSS.
import { setFlagsFromString } from 'node:v8';
import type { Logger } from '../log.ts';

/** Owed events at which the heap switches to memory-first growth. */
export const ENTER_EVENTS = 10_000;
/** Owed events at or below which it goes back to V8's default (hysteresis: no flapping around one threshold). */
export const EXIT_EVENTS = 1_000;
/**
 * Old-generation growth after a full GC while in backlog mode: 1.5× the live heap. V8's default factor is dynamic, up
 * to 4× when the program allocates fast, and draining a backlog allocates fast with a small live set (events are read
 * back, sent and dropped): a 100k-event outage and drain grew the heap to ~150 MB for a ~35 MB live set and peaked at
 * ~235 MB RSS; at 1.5× the peak was ~155 MB. Not the default for everyday traffic: the extra full GCs cost about 15%
 * CPU per event on the route/fanout cost benches.
 */
export const BACKLOG_GROWING_PERCENT = 50;

/** How often the owed count is looked at. */
const CHECK_EVERY_MS = 1000;

/**
 * Switches V8's heap growth with the size of the backlog. V8 reads `--heap-growing-percent` at every full GC, so setting
 * it at run time takes effect at the next one; 0 means V8's own dynamic factor.
 * @example
 * const heap = new BacklogHeap(logger);
 * heap.update(engine.stats().pendingEvents);
 */
export class BacklogHeap {
  private memoryFirst = false;

  constructor(
    private readonly logger: Pick<Logger, 'info'>,
    private readonly setFlags: (flags: string) => void = setFlagsFromString,
  ) {}

  /** True while the heap is sized for memory. */
  get active(): boolean {
    return this.memoryFirst;
  }

  update(owedEvents: number): void {
    if (!this.memoryFirst && owedEvents >= ENTER_EVENTS) {
      this.memoryFirst = true;
      this.setFlags(`--heap-growing-percent=${BACKLOG_GROWING_PERCENT}`);
      this.logger.info({ owedEvents }, 'backlog: heap sized for memory until it drains');
    } else if (this.memoryFirst && owedEvents <= EXIT_EVENTS) {
      this.memoryFirst = false;
      this.setFlags('--heap-growing-percent=0');
      this.logger.info({ owedEvents }, 'backlog drained: heap sized for throughput again');
    }
  }
}

/**
 * Look at the owed count every second until the returned stop function is called (the timer never keeps the process up).
 * @example cleanups.push(watchBacklogHeap(() => engine.stats().pendingEvents, logger));
 */
export function watchBacklogHeap(
  owedEvents: () => number,
  logger: Pick<Logger, 'info'>,
  heap = new BacklogHeap(logger),
): () => void {
  const timer = setInterval(() => heap.update(owedEvents()), CHECK_EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (heap.active) heap.update(0);
  };
}
