// One delivery lane per (pipeline, sink): bounded queue, batches, fixed or adaptive concurrency and rate, retries with
// backoff, breaker, dead letters. A send carries one event, or (with `batch:`) several, which succeed or fail together.
import PQueue from 'p-queue';
import type { Metrics } from '../admin/metrics.ts';
import type { EventRecord } from '../events/record.ts';
import type { Logger } from '../log.ts';
import type { LaneSpec } from '../pipelines/table.ts';
import type { BatchItem, BatchMeta, DeliveryMeta, SendOutcome, SinkInstance } from '../sinks/define.ts';
import { payloadJson } from '../sinks/util/payload-json.ts';
import { AdaptiveLimit, type AdaptiveLimitState } from './adaptive-limit.ts';
import { idempotencyKey } from './idempotency-key.ts';
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
  /** Events waiting in memory: for their payload, for their batch to fill, or for a free send slot. */
  queued: number;
  /** Events in sends in progress. */
  inFlight: number;
  waitingRetry: number;
  breaker: BreakerState;
  /** The sends-in-flight limit: fixed, or where the adaptive controller has it now. */
  concurrency: { mode: 'fixed'; limit: number } | ({ mode: 'adaptive' } & AdaptiveLimitState);
  lastError?: string;
}

/** One event the lane owes. */
interface Delivery {
  event: EventRecord;
  hasPayload: boolean;
  payload?: unknown;
  /** Its own Idempotency-Key, computed on first use. */
  key?: string;
}

/** What one send carries: one event, or a batch. Retried, parked and split as a whole. */
interface Unit {
  items: Delivery[];
  attempts: number;
  firstAttemptAt?: number;
  lastAttemptAt?: number;
  /** Bumped on every enqueue, so a stale queue task for this unit does nothing. */
  ticket: number;
  /** The batch's Idempotency-Key, computed on first use. */
  key?: string;
}

const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };
const LOG_EVERY_MS = 10_000;
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const count = (units: Iterable<Unit>) => {
  let n = 0;
  for (const u of units) n += u.items.length;
  return n;
};

/** JSON bytes of a payload, for `batch.maxBytes`; one the JSON writer rejects counts as nothing (its sink says why). */
function payloadBytes(payload: unknown): number {
  try {
    return Buffer.byteLength(payloadJson(payload));
  } catch {
    return 0;
  }
}

function makeQueue(q: QueuePolicy, concurrency = q.concurrency): PQueue {
  return new PQueue({
    concurrency,
    ...(q.rate ? { intervalCap: q.rate.count, interval: q.rate.intervalMs } : {}),
  });
}

/**
 * Delivers every pushed event to one sink exactly until it is delivered or dead-lettered, then reports it through `onSettled`.
 * Retries wait outside the queue on a timer, so a failing event never holds a concurrency slot while it waits.
 * With `spec.batch`, events are collected into batches (by count, bytes or `maxWait`); a batch the destination refuses
 * permanently is split in halves until the refused events are alone, so only they are dead-lettered.
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
  /** Sends in progress (a batch is one), what the adaptive limit counts. */
  private sending = 0;
  private limiter: AdaptiveLimit | undefined;
  private readonly queued = new Set<Unit>();
  private readonly retrying = new Map<Unit, NodeJS.Timeout>();
  /** Units paused by the open breaker: re-queued when it lets a probe through or closes. */
  private parked: Unit[] = [];
  /** Batching: events whose payload is being evaluated, and the batch being filled. */
  private preparing = 0;
  private open: Delivery[] = [];
  private openBytes = 0;
  private openTimer: NodeJS.Timeout | undefined;
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
    this.limiter = this.makeLimiter(deps.spec.queue);
    this.queue = makeQueue(deps.spec.queue, this.limiter?.limit);
    this.sinks = new SinkHandover((err) => deps.logger.warn({ err: message(err) }, 'sink close failed'));
    this.resetBreaker();
    this.deps.metrics.concurrencyLimit.set(this.labels, this.queue.concurrency);
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
    const d: Delivery = { event, hasPayload: false };
    // Unbatched, the payload is evaluated when a send slot is free (as many at once as sends); batched, before the
    // batch, whose byte limit needs it.
    if (this.spec.batch) void this.prepare(d);
    else this.enqueue(this.unit([d]));
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
    if (old.queue.adaptive?.maxConcurrency !== spec.queue.adaptive?.maxConcurrency)
      this.limiter = this.makeLimiter(spec.queue);
    const concurrency = this.limiter?.limit ?? spec.queue.concurrency;
    if (
      old.queue.rate?.count !== spec.queue.rate?.count ||
      old.queue.rate?.intervalMs !== spec.queue.rate?.intervalMs
    ) {
      // p-queue cannot change its rate: move the waiting deliveries to a new queue (running ones finish in the old one).
      const previous = this.queue;
      this.queue = makeQueue(spec.queue, concurrency);
      previous.clear();
      for (const u of this.queued) this.addTask(u);
    } else if (this.queue.concurrency !== concurrency) {
      this.queue.concurrency = concurrency;
    }
    this.deps.metrics.concurrencyLimit.set(this.labels, concurrency);
    // The batch being filled goes out now, under the new sink and limits.
    this.flush();
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
      queued: count(this.queued) + this.open.length + this.preparing,
      inFlight: this.inFlight,
      waitingRetry: count(this.retrying.keys()) + count(this.parked),
      breaker: this.breaker.state,
      concurrency: this.limiter
        ? { mode: 'adaptive', ...this.limiter.state() }
        : { mode: 'fixed', limit: this.spec.queue.concurrency },
    };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  private async runDrain(graceMs: number): Promise<void> {
    const dropped = count(this.queued) + count(this.retrying.keys()) + count(this.parked) + this.open.length;
    for (const t of this.retrying.values()) clearTimeout(t);
    clearTimeout(this.parkTimer);
    clearTimeout(this.openTimer);
    this.open = [];
    this.openBytes = 0;
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

  private unit(items: Delivery[], from?: Unit): Unit {
    const u: Unit = { items, attempts: from?.attempts ?? 0, ticket: 0 };
    if (from?.firstAttemptAt !== undefined) u.firstAttemptAt = from.firstAttemptAt;
    if (from?.lastAttemptAt !== undefined) u.lastAttemptAt = from.lastAttemptAt;
    return u;
  }

  private makeLimiter(q: QueuePolicy): AdaptiveLimit | undefined {
    if (!q.adaptive) return undefined;
    const limiter = new AdaptiveLimit({
      max: q.adaptive.maxConcurrency,
      initial: q.concurrency,
      onChange: (n) => {
        if (this.limiter !== limiter) return;
        this.queue.concurrency = n;
        this.deps.metrics.concurrencyLimit.set(this.labels, n);
      },
    });
    return limiter;
  }

  /** Batching: evaluate the payload (a transform error dead-letters this event alone), then add it to the batch. */
  private async prepare(d: Delivery): Promise<void> {
    this.preparing++;
    let failed: string | undefined;
    try {
      d.payload = await this.payloadFn(d.event);
      d.hasPayload = true;
    } catch (err) {
      failed = message(err);
    } finally {
      this.preparing--;
    }
    if (this.draining) return this.drop();
    if (failed !== undefined) {
      this.deps.metrics.pipelineErrors.inc({ pipeline: this.spec.pipeline, stage: 'transform' });
      return this.deadLetter(this.unit([d]), 'transform_error', failed);
    }
    this.collect(d);
  }

  private collect(d: Delivery): void {
    const batch = this.spec.batch;
    if (!batch) return this.enqueue(this.unit([d])); // batching was turned off by a reload meanwhile
    const bytes = payloadBytes(d.payload);
    if (this.open.length > 0 && this.openBytes + bytes > batch.maxBytes) this.flush();
    this.open.push(d);
    this.openBytes += bytes;
    // A full lane takes no more events until something settles: waiting for the batch to fill would only stall it.
    if (
      this.open.length >= batch.maxEvents ||
      this.openBytes >= batch.maxBytes ||
      this.held >= this.spec.queue.capacity
    )
      return this.flush();
    this.openTimer ??= setTimeout(() => this.flush(), batch.maxWaitMs);
  }

  /** Send the batch being filled (if any) as one unit. */
  private flush(): void {
    clearTimeout(this.openTimer);
    this.openTimer = undefined;
    if (this.open.length === 0) return;
    const items = this.open;
    this.open = [];
    this.openBytes = 0;
    this.enqueue(this.unit(items));
  }

  private enqueue(u: Unit, priority = 0): void {
    if (this.draining) return this.drop(u.items.length);
    this.queued.add(u);
    this.addTask(u, priority);
    this.gauge();
  }

  private addTask(u: Unit, priority = 0): void {
    const ticket = ++u.ticket;
    this.queue
      .add(
        async () => {
          if (u.ticket !== ticket || !this.queued.delete(u)) return;
          const run = this.attempt(u).catch((err) =>
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

  private async attempt(u: Unit): Promise<void> {
    const first = u.items[0]!;
    if (!first.hasPayload) {
      // Unbatched: one event per unit, its payload evaluated now.
      try {
        first.payload = await this.payloadFn(first.event);
        first.hasPayload = true;
      } catch (err) {
        this.deps.metrics.pipelineErrors.inc({ pipeline: this.spec.pipeline, stage: 'transform' });
        this.deadLetter(u, 'transform_error', message(err));
        return;
      }
    }
    if (this.shutdown.signal.aborted) return this.drop(u.items.length);
    if (!this.breaker.canPass()) return this.park(u);

    u.attempts++;
    const at = this.now();
    u.firstAttemptAt ??= at;
    u.lastAttemptAt = at;
    this.inFlight += u.items.length;
    this.sending++;
    const limiter = this.limiter;
    limiter?.started(this.sending);
    const breaker = this.breaker;
    const started = performance.now();
    let result: AttemptResult;
    try {
      result = await this.send(u);
    } finally {
      this.inFlight -= u.items.length;
      this.sending--;
    }
    const took = performance.now() - started;
    (this.m.latency ??= this.deps.metrics.deliveryLatency.labels(this.labels)).observe(took / 1000);
    if (this.shutdown.signal.aborted) return this.drop(u.items.length);
    const verdict = classify(result);
    limiter?.finished(verdict.kind === 'ok' ? 'ok' : verdict.kind === 'retry' ? 'back_pressure' : 'refused', took);
    if (breaker === this.breaker) {
      // A permanent error is still an answer: the destination is up, so it does not count against the breaker.
      if (verdict.kind === 'retry') breaker.onFailure();
      else breaker.onSuccess();
    }
    this.handle(u, verdict);
  }

  private eventKey(d: Delivery): string {
    return (d.key ??= idempotencyKey(this.key, [d.event]));
  }

  private meta(d: Delivery, attempt: number): DeliveryMeta {
    return {
      eventId: d.event.id,
      eventName: d.event.eventName,
      pipeline: this.spec.pipeline,
      sink: this.spec.sinkId,
      attempt,
      receivedAt: d.event.receivedAt,
      idempotencyKey: this.eventKey(d),
    };
  }

  private send(u: Unit): Promise<AttemptResult> {
    const sink = this.sink;
    let run;
    // A batch made before a reload turned batching off still goes out as the batch it is.
    if (!this.spec.batch && u.items.length === 1) {
      const d = u.items[0]!;
      run = this.attempts.send(sink, d.payload, this.meta(d, u.attempts));
    } else {
      const items: BatchItem[] = u.items.map((d) => ({ payload: d.payload, meta: this.meta(d, u.attempts) }));
      u.key ??=
        u.items.length === 1
          ? this.eventKey(u.items[0]!)
          : idempotencyKey(
              this.key,
              u.items.map((d) => d.event),
            );
      const meta: BatchMeta = {
        pipeline: this.spec.pipeline,
        sink: this.spec.sinkId,
        attempt: u.attempts,
        idempotencyKey: u.key,
      };
      run = this.attempts.run((signal) =>
        sink.sendBatch ? sink.sendBatch(items, meta, signal) : sendEach(sink, items, signal),
      );
    }
    this.sinks.acquire(sink);
    // A retired sink closes only once its last send has really returned.
    void run.sent.finally(() => this.sinks.release(sink));
    return run.result;
  }

  private handle(u: Unit, v: Verdict): void {
    if (v.kind === 'ok') {
      for (const d of u.items) this.settle(d, 'delivered');
      return;
    }
    this.lastError = v.status === undefined ? v.error : `${v.error} (status ${v.status})`;
    if (v.kind === 'permanent') {
      if (u.items.length === 1) return this.deadLetter(u, 'permanent_error', v.error, v.status);
      // Some event in the batch is refused: try each half on its own until the refused ones are alone.
      const half = Math.ceil(u.items.length / 2);
      this.enqueue(this.unit(u.items.slice(0, half), u), 1);
      this.enqueue(this.unit(u.items.slice(half), u), 1);
      return;
    }
    if (!mayRetry(this.spec.retry, u.attempts, u.firstAttemptAt, this.now())) {
      const why =
        u.attempts >= this.spec.retry.attempts ? v.error : `${v.error} (failing for longer than retry.maxAge)`;
      return this.deadLetter(u, 'delivery_failed', why, v.status);
    }
    if (this.draining) return this.drop(u.items.length); // no retries during shutdown: the journal still owes it
    this.counts.retried += u.items.length;
    (this.m.retries ??= this.deps.metrics.retries.labels(this.labels)).inc(u.items.length);
    const delay = backoffDelay(u.attempts, this.spec.retry, this.random, v.retryAfterMs);
    this.retrying.set(
      u,
      setTimeout(() => {
        this.retrying.delete(u);
        this.enqueue(u, 1);
      }, delay),
    );
  }

  /** Dead-letter every event of `u`, each with its own record. */
  private deadLetter(u: Unit, reason: DeadLetterReason, error: string, status?: number): void {
    for (const d of u.items) {
      const rec: DeadLetter = {
        id: newDeadLetterId(this.now()),
        reason,
        eventId: d.event.id,
        eventName: d.event.eventName,
        receivedAt: d.event.receivedAt,
        event: d.event.body,
        pipeline: this.spec.pipeline,
        sink: this.spec.sinkId,
        attempts: u.attempts,
        lastError: error,
        deadAt: this.now(),
      };
      if (d.hasPayload) rec.payload = d.payload;
      if (status !== undefined) rec.status = status;
      if (u.firstAttemptAt !== undefined) rec.firstAttemptAt = u.firstAttemptAt;
      if (u.lastAttemptAt !== undefined) rec.lastAttemptAt = u.lastAttemptAt;
      const write = this.storeDeadLetter(d, rec);
      this.busy.add(write);
      void write.finally(() => this.busy.delete(write));
    }
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

  /** Abandoned at shutdown: forget `n` events without onSettled. */
  private drop(n = 1): void {
    this.held -= n;
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

  private park(u: Unit): void {
    if (this.draining) return this.drop(u.items.length);
    this.parked.push(u);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.parkTimer || this.breaker.state !== 'open' || this.parked.length === 0) return;
    this.parkTimer = setTimeout(() => this.wakeParked(), this.breaker.msUntilProbe());
  }

  private wakeParked(): void {
    clearTimeout(this.parkTimer);
    this.parkTimer = undefined;
    for (const u of this.parked.splice(0)) this.enqueue(u, 1);
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

/** A batch for a sink instance without `sendBatch` (one that failed to start): its sends one by one, first failure wins. */
async function sendEach(
  sink: SinkInstance,
  items: readonly BatchItem[],
  signal: AbortSignal,
): Promise<SendOutcome | void> {
  for (const it of items) {
    const outcome = await sink.send(it.payload, it.meta, signal);
    if (outcome && !outcome.ok) return outcome;
  }
}
