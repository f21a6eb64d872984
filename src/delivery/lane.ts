// One delivery lane per (pipeline, sink): bounded queue, concurrency and rate, retries with backoff, breaker, dead letters.
import PQueue from 'p-queue';
import type { Metrics } from '../admin/metrics.ts';
import type { EventRecord } from '../events/record.ts';
import type { Logger } from '../log.ts';
import type { LaneSpec } from '../pipelines/table.ts';
import type { DeliveryMeta, SinkInstance } from '../sinks/define.ts';
import { Breaker, type BreakerState } from './breaker.ts';
import {
  newDeadLetterId,
  type DeadLetter,
  type DeadLetterReason,
  type DeadLetterStore,
} from '../dead-letters/store.ts';
import { AttemptRunner } from './attempt.ts';
import { appendUntilStored } from '../dead-letters/durable-append.ts';
import { SinkHandover } from './sink-handover.ts';
import { backoffDelay, mayRetry, type QueuePolicy } from './policy.ts';
import { classify, type AttemptResult, type Verdict } from './verdict.ts';

export interface LaneDeps {
  spec: LaneSpec;
  sink: SinkInstance;
  /** Evaluates the transform; throws on transform error. */
  payload: (event: EventRecord) => Promise<unknown>;
  /** Only `append` is used, so a caller may wrap the store (the offline replay does). */
  deadLetters: Pick<DeadLetterStore, 'append'>;
  metrics: Metrics;
  logger: Logger;
  /** Called exactly once per pushed event, after the delivery finished: delivered, or dead-lettered (the DLQ record is durable first). Not called for deliveries abandoned by drain(). */
  onSettled: (event: EventRecord, result: 'delivered' | 'dead_lettered') => void;
  random?: () => number;
  now?: () => number;
  /** Lane-level safety net for a sink that never answers (sinks have their own, shorter timeouts). Default 5 minutes. */
  attemptTimeoutMs?: number;
}

export interface LaneStats {
  delivered: number;
  retried: number;
  deadLettered: number;
  queued: number;
  inFlight: number;
  waitingRetry: number;
  breaker: BreakerState;
  lastError?: string;
}

interface Delivery {
  event: EventRecord;
  attempts: number;
  hasPayload: boolean;
  payload?: unknown;
  firstAttemptAt?: number;
  lastAttemptAt?: number;
  /** Bumped on every enqueue, so a stale queue task for this delivery does nothing. */
  ticket: number;
}

const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
const LOG_EVERY_MS = 10_000;
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function makeQueue(q: QueuePolicy): PQueue {
  return new PQueue({
    concurrency: q.concurrency,
    ...(q.rate ? { intervalCap: q.rate.count, interval: q.rate.intervalMs } : {}),
  });
}

/**
 * Delivers every pushed event to one sink exactly until it is delivered or dead-lettered, then reports it through `onSettled`.
 * Retries wait outside the queue on a timer, so a failing event never holds a concurrency slot while it waits.
 * @example
 * const lane = new Lane({ spec, sink, payload: (e) => table.payload(spec.key, e), deadLetters, metrics, logger, onSettled });
 * if (lane.hasRoom) lane.push(event); else lane.onRoom(() => refillFromJournal());
 */
export class Lane {
  readonly key: string;
  private spec: LaneSpec;
  private sink: SinkInstance;
  private payloadFn: (event: EventRecord) => Promise<unknown>;
  private queue: PQueue;
  private breaker!: Breaker;
  private readonly deps: LaneDeps;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly labels: { pipeline: string; sink: string };
  /**
   * The lane's labelled metric children, each looked up on first use (so a series appears when it first counts, as
   * before) and then kept: a label lookup per delivery hashes the label object every time.
   */
  private readonly m: {
    latency?: { observe(v: number): void };
    delivered?: { inc(): void };
    deadLettered?: { inc(): void };
    retries?: { inc(): void };
  } = {};
  /** Stops the scrape-time reading of this lane's queue depth; set once the lane first held something. */
  private untrackDepth: (() => void) | undefined;

  private held = 0;
  private inFlight = 0;
  private readonly queued = new Set<Delivery>();
  private readonly retrying = new Map<Delivery, NodeJS.Timeout>();
  /** Deliveries paused by the open breaker: re-queued when it lets a probe through or closes. */
  private parked: Delivery[] = [];
  private parkTimer: NodeJS.Timeout | undefined;
  /** Attempts and DLQ writes in progress: what drain() waits for. */
  private readonly busy = new Set<Promise<void>>();
  private readonly sinks: SinkHandover;
  private readonly shutdown = new AbortController();
  private readonly attempts: AttemptRunner;
  private draining: Promise<void> | undefined;
  private aboveHalf = false;
  private readonly roomCallbacks: (() => void)[] = [];
  private readonly counts = { delivered: 0, retried: 0, deadLettered: 0 };
  private lastError: string | undefined;
  private lastDeadLog = 0;
  private suppressedDeadLogs = 0;

  constructor(deps: LaneDeps) {
    this.deps = deps;
    this.spec = deps.spec;
    this.key = deps.spec.key;
    this.sink = deps.sink;
    this.payloadFn = deps.payload;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.attempts = new AttemptRunner({ timeoutMs: deps.attemptTimeoutMs ?? 300_000, shutdown: this.shutdown.signal });
    this.labels = { pipeline: deps.spec.pipeline, sink: deps.spec.sinkId };
    this.queue = makeQueue(deps.spec.queue);
    this.sinks = new SinkHandover((err) => deps.logger.warn({ err: message(err) }, 'sink close failed'));
    this.resetBreaker();
  }

  /** Deliveries held in memory: queued + in flight + waiting to retry. Never above spec.queue.capacity if callers respect hasRoom. */
  get size(): number {
    return this.held;
  }

  get hasRoom(): boolean {
    return !this.draining && this.held < this.spec.queue.capacity;
  }

  push(event: EventRecord): void {
    if (this.draining) return; // shutting down: the delivery stays owed in the journal
    this.held++;
    if (this.held > this.spec.queue.capacity / 2) this.aboveHalf = true;
    this.enqueue({ event, attempts: 0, hasPayload: false, ticket: 0 });
  }

  /** Called whenever size falls to or below capacity/2 after having been above it, so the caller can refill from disk. */
  onRoom(cb: () => void): void {
    this.roomCallbacks.push(cb);
  }

  /** Hot reload: new spec and sink; the old sink finishes in-flight sends, then is closed. Queued deliveries go to the new sink. */
  update(spec: LaneSpec, sink: SinkInstance, payload: (event: EventRecord) => Promise<unknown>): void {
    const old = this.spec;
    this.spec = spec;
    this.payloadFn = payload;
    if (
      old.queue.rate?.count !== spec.queue.rate?.count ||
      old.queue.rate?.intervalMs !== spec.queue.rate?.intervalMs
    ) {
      // p-queue cannot change its rate: move the waiting deliveries to a new queue (running ones finish in the old one).
      const previous = this.queue;
      this.queue = makeQueue(spec.queue);
      previous.clear();
      for (const d of this.queued) this.addTask(d);
    } else if (old.queue.concurrency !== spec.queue.concurrency) {
      this.queue.concurrency = spec.queue.concurrency;
    }
    const sinkChanged = sink !== this.sink;
    if (sinkChanged) {
      this.sinks.retire(this.sink);
      this.sink = sink;
    }
    if (
      sinkChanged ||
      old.breaker.threshold !== spec.breaker.threshold ||
      old.breaker.cooldownMs !== spec.breaker.cooldownMs
    ) {
      // A new destination or policy starts with a clean slate.
      this.resetBreaker();
      this.wakeParked();
    }
  }

  /** Shutdown: take no new work, let in-flight attempts finish for up to graceMs, then abort them (signal) and stop; queued/retrying deliveries are dropped from memory WITHOUT onSettled (they stay owed in the journal). */
  drain(graceMs: number): Promise<void> {
    this.draining ??= this.runDrain(graceMs);
    return this.draining;
  }

  /** Drain (abandoning in-flight attempts if not drained yet) and close the sink. */
  async close(): Promise<void> {
    await this.drain(0);
    await this.sinks.closeAll(this.sink);
    this.untrackDepth?.();
  }

  stats(): LaneStats {
    const s: LaneStats = {
      ...this.counts,
      queued: this.queued.size,
      inFlight: this.inFlight,
      waitingRetry: this.retrying.size + this.parked.length,
      breaker: this.breaker.state,
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  private async runDrain(graceMs: number): Promise<void> {
    const dropped = this.queued.size + this.retrying.size + this.parked.length;
    for (const t of this.retrying.values()) clearTimeout(t);
    clearTimeout(this.parkTimer);
    this.queued.clear();
    this.retrying.clear();
    this.parked = [];
    this.queue.clear();
    this.held -= dropped;
    this.gauge();
    const idle = async () => {
      // An attempt that ends may start a dead-letter write: wait until nothing new appears.
      while (this.busy.size > 0) await Promise.all([...this.busy]);
      return true;
    };
    const settled = (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([idle(), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]).finally(() =>
        clearTimeout(timer),
      );
    };
    if (!(await settled(graceMs))) {
      this.shutdown.abort(new Error('delivery abandoned at shutdown'));
      await settled(1000); // attempts race the abort, so they end at once; a payload evaluation is time-boxed
    }
    // Whatever is still running is abandoned: it must not settle (or retry a DLQ write) after drain resolved.
    if (!this.shutdown.signal.aborted) this.shutdown.abort(new Error('lane drained'));
  }

  private enqueue(d: Delivery, priority = 0): void {
    if (this.draining) return this.drop();
    this.queued.add(d);
    this.addTask(d, priority);
    this.gauge();
  }

  private addTask(d: Delivery, priority = 0): void {
    const ticket = ++d.ticket;
    this.queue
      .add(
        async () => {
          if (d.ticket !== ticket || !this.queued.delete(d)) return;
          const run = this.attempt(d).catch((err) =>
            this.deps.logger.error({ err: message(err) }, 'delivery lane bug'),
          );
          this.busy.add(run);
          await run;
          this.busy.delete(run);
        },
        { priority },
      )
      .catch(() => {});
  }

  private async attempt(d: Delivery): Promise<void> {
    if (!d.hasPayload) {
      try {
        d.payload = await this.payloadFn(d.event);
        d.hasPayload = true;
      } catch (err) {
        this.deps.metrics.pipelineErrors.inc({ pipeline: this.spec.pipeline, stage: 'transform' });
        this.deadLetter(d, 'transform_error', message(err));
        return;
      }
    }
    if (this.shutdown.signal.aborted) return this.drop();
    if (!this.breaker.canPass()) return this.park(d);

    d.attempts++;
    const at = this.now();
    d.firstAttemptAt ??= at;
    d.lastAttemptAt = at;
    this.inFlight++;
    const breaker = this.breaker;
    const started = performance.now();
    let result: AttemptResult;
    try {
      result = await this.send(d);
    } finally {
      this.inFlight--;
      (this.m.latency ??= this.deps.metrics.deliveryLatency.labels(this.labels)).observe(
        (performance.now() - started) / 1000,
      );
    }
    if (this.shutdown.signal.aborted) return this.drop();
    const verdict = classify(result);
    if (breaker === this.breaker) {
      // A permanent error is still an answer: the destination is up, so it does not count against the breaker.
      if (verdict.kind === 'retry') breaker.onFailure();
      else breaker.onSuccess();
    }
    this.handle(d, verdict);
  }

  private send(d: Delivery): Promise<AttemptResult> {
    const sink = this.sink;
    const meta: DeliveryMeta = {
      eventId: d.event.id,
      eventName: d.event.eventName,
      pipeline: this.spec.pipeline,
      sink: this.spec.sinkId,
      attempt: d.attempts,
      receivedAt: d.event.receivedAt,
    };
    this.sinks.acquire(sink);
    const run = this.attempts.send(sink, d.payload, meta);
    // A retired sink closes only once its last send has really returned.
    void run.sent.finally(() => this.sinks.release(sink));
    return run.result;
  }

  private handle(d: Delivery, v: Verdict): void {
    if (v.kind === 'ok') return this.settle(d, 'delivered');
    this.lastError = v.status === undefined ? v.error : `${v.error} (status ${v.status})`;
    if (v.kind === 'permanent') return this.deadLetter(d, 'permanent_error', v.error, v.status);
    if (!mayRetry(this.spec.retry, d.attempts, d.firstAttemptAt, this.now())) {
      const why =
        d.attempts >= this.spec.retry.attempts ? v.error : `${v.error} (failing for longer than retry.maxAge)`;
      return this.deadLetter(d, 'delivery_failed', why, v.status);
    }
    if (this.draining) return this.drop(); // no retries during shutdown: the journal still owes it
    this.counts.retried++;
    (this.m.retries ??= this.deps.metrics.retries.labels(this.labels)).inc();
    const delay = backoffDelay(d.attempts, this.spec.retry, this.random, v.retryAfterMs);
    this.retrying.set(
      d,
      setTimeout(() => {
        this.retrying.delete(d);
        this.enqueue(d, 1);
      }, delay),
    );
  }

  private deadLetter(d: Delivery, reason: DeadLetterReason, error: string, status?: number): void {
    const rec: DeadLetter = {
      id: newDeadLetterId(this.now()),
      reason,
      eventId: d.event.id,
      eventName: d.event.eventName,
      receivedAt: d.event.receivedAt,
      event: d.event.body,
      pipeline: this.spec.pipeline,
      sink: this.spec.sinkId,
      attempts: d.attempts,
      lastError: error,
      deadAt: this.now(),
    };
    if (d.hasPayload) rec.payload = d.payload;
    if (status !== undefined) rec.status = status;
    if (d.firstAttemptAt !== undefined) rec.firstAttemptAt = d.firstAttemptAt;
    if (d.lastAttemptAt !== undefined) rec.lastAttemptAt = d.lastAttemptAt;
    const write = this.storeDeadLetter(d, rec);
    this.busy.add(write);
    void write.finally(() => this.busy.delete(write));
  }

  /** The DLQ record must be durable before onSettled: on a write error keep trying (with backoff) until shutdown. */
  private async storeDeadLetter(d: Delivery, rec: DeadLetter): Promise<void> {
    const stored = await appendUntilStored(this.deps.deadLetters, rec, {
      signal: this.shutdown.signal,
      random: this.random,
      onError: (err, tries) => {
        if (tries === 1 || tries % 10 === 0)
          this.deps.logger.error(
            { err: message(err), eventId: rec.eventId, tries },
            'cannot write to the dead-letter queue; retrying',
          );
      },
    });
    if (!stored) return this.drop();
    this.deps.metrics.deadLetters.inc({ reason: rec.reason });
    this.logDeadLetter(rec);
    this.settle(d, 'dead_lettered');
  }

  private logDeadLetter(rec: DeadLetter): void {
    const t = this.now();
    if (t - this.lastDeadLog < LOG_EVERY_MS) {
      this.suppressedDeadLogs++;
      return;
    }
    this.lastDeadLog = t;
    const fields = {
      eventId: rec.eventId,
      eventName: rec.eventName,
      reason: rec.reason,
      attempts: rec.attempts,
      error: rec.lastError,
      status: rec.status,
      alsoSince: this.suppressedDeadLogs,
    };
    this.suppressedDeadLogs = 0;
    this.deps.logger.warn(fields, 'delivery dead-lettered');
  }

  private settle(d: Delivery, result: 'delivered' | 'dead_lettered'): void {
    this.counts[result === 'delivered' ? 'delivered' : 'deadLettered']++;
    if (result === 'delivered')
      (this.m.delivered ??= this.deps.metrics.deliveries.labels({ ...this.labels, result })).inc();
    else (this.m.deadLettered ??= this.deps.metrics.deliveries.labels({ ...this.labels, result })).inc();
    this.held--;
    this.gauge();
    try {
      this.deps.onSettled(d.event, result);
    } catch (err) {
      this.deps.logger.error({ err: message(err), eventId: d.event.id }, 'onSettled failed');
    }
    this.checkRoom();
  }

  /** Abandoned at shutdown: forget it without onSettled. */
  private drop(): void {
    this.held--;
    this.gauge();
  }

  private checkRoom(): void {
    if (!this.aboveHalf || this.draining || this.held > this.spec.queue.capacity / 2) return;
    this.aboveHalf = false;
    for (const cb of this.roomCallbacks) {
      try {
        cb();
      } catch (err) {
        this.deps.logger.error({ err: message(err) }, 'onRoom callback failed');
      }
    }
  }

  private park(d: Delivery): void {
    if (this.draining) return this.drop();
    this.parked.push(d);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.parkTimer || this.breaker.state !== 'open' || this.parked.length === 0) return;
    this.parkTimer = setTimeout(() => this.wakeParked(), this.breaker.msUntilProbe());
  }

  private wakeParked(): void {
    clearTimeout(this.parkTimer);
    this.parkTimer = undefined;
    for (const d of this.parked.splice(0)) this.enqueue(d, 1);
  }

  private resetBreaker(): void {
    this.breaker = new Breaker(this.spec.breaker, this.now);
    this.deps.metrics.breakerState.set(this.labels, 0);
    this.breaker.onStateChange((state) => {
      this.deps.metrics.breakerState.set(this.labels, BREAKER_GAUGE[state]);
      const msg = {
        open: 'circuit breaker open: pausing deliveries',
        'half-open': 'circuit breaker half-open: sending a probe',
        closed: 'circuit breaker closed: resuming deliveries',
      }[state];
      this.deps.logger.info({ breaker: state, lastError: this.lastError }, msg);
      if (state === 'closed') this.wakeParked();
      if (state === 'open') {
        clearTimeout(this.parkTimer);
        this.parkTimer = undefined;
        this.scheduleProbe();
      }
    });
  }

  /** The queue-depth series appears once the lane first changes its depth, as when it was set on every change. */
  private gauge(): void {
    this.untrackDepth ??= this.deps.metrics.trackQueueDepth(this.labels, () => this.held);
  }
}
