// Every Prometheus metric the daemon exports, defined once. Names follow `hookroute_<subsystem>_<name>[_<unit>][_total]`.
// Labels never take raw event-controlled values: eventName goes through `eventLabel` (known names, else `other`).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'hookroute_ingress_requests_total',
    help: 'Ingress requests by HTTP status.',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly authRefusals = new Counter({
    name: 'hookroute_ingress_auth_refusals_total',
    help: 'Ingress requests refused by auth (401, or 503 while the JWKS cannot be had), by reason (the error code).',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly ingressLatency = new Histogram({
    name: 'hookroute_ingress_latency_seconds',
    help: 'Time from request start to response, accepted events included (journal fsync inside).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly eventsAccepted = new Counter({
    name: 'hookroute_events_accepted_total',
    help: 'Events accepted (200) by eventName.',
    labelNames: ['event'],
    registers: [this.registry],
  });
  readonly eventsQuarantined = new Counter({
    name: 'hookroute_events_quarantined_total',
    help: 'Accepted events that broke their schema, by eventName.',
    labelNames: ['event'],
    registers: [this.registry],
  });
  readonly eventsRejected = new Counter({
    name: 'hookroute_events_rejected_total',
    help: 'Events refused with 422 (validation.onInvalid: reject), by eventName.',
    labelNames: ['event'],
    registers: [this.registry],
  });
  readonly eventsUnmatched = new Counter({
    name: 'hookroute_events_unmatched_total',
    help: 'Events that matched no pipeline.',
    registers: [this.registry],
  });

  readonly pipelinesLastGood = new Gauge({
    name: 'hookroute_pipelines_last_good',
    help: 'Pipeline files that are broken and run their last good version (kept under storage.dir) instead.',
    registers: [this.registry],
  });

  readonly eventsDeduplicated = new Counter({
    name: 'hookroute_events_deduplicated_total',
    help: 'Events a pipeline with `dedupe` did not deliver again (its key was seen within the window), by pipeline.',
    labelNames: ['pipeline'],
    registers: [this.registry],
  });
  readonly dedupeKeys = new Gauge({
    name: 'hookroute_dedupe_keys',
    help: 'Dedupe keys held in memory, by pipeline.',
    labelNames: ['pipeline'],
    registers: [this.registry],
  });
  readonly dedupeEvicted = new Counter({
    name: 'hookroute_dedupe_keys_evicted_total',
    help: 'Dedupe keys forgotten before their window ended because the pipeline held `dedupe.maxKeys` (raise it if this grows).',
    labelNames: ['pipeline'],
    registers: [this.registry],
  });

  readonly pipelineMatches = new Counter({
    name: 'hookroute_pipeline_matches_total',
    help: 'Events matched, by pipeline.',
    labelNames: ['pipeline'],
    registers: [this.registry],
  });
  readonly pipelineErrors = new Counter({
    name: 'hookroute_pipeline_errors_total',
    help: 'Match or transform errors, by pipeline and stage.',
    labelNames: ['pipeline', 'stage'],
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: 'hookroute_pipeline_reloads_total',
    help: 'Pipeline reloads by result (ok, error).',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly pipelinesLoaded = new Gauge({
    name: 'hookroute_pipelines_loaded',
    help: 'Pipelines currently loaded.',
    registers: [this.registry],
  });

  readonly sinkStarts = new Counter({
    name: 'hookroute_sink_starts_total',
    help: 'Sink instances started: at start, then only by reloads that add a sink or change its config.',
    registers: [this.registry],
  });
  readonly laneStarts = new Counter({
    name: 'hookroute_sink_lane_starts_total',
    help: 'Delivery lanes started: at start, then only by reloads that add a sink or change its config.',
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'hookroute_sink_deliveries_total',
    help: 'Finished deliveries by pipeline, sink and result (delivered, dead_lettered).',
    labelNames: ['pipeline', 'sink', 'result'],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'hookroute_sink_retries_total',
    help: 'Failed attempts that will be retried.',
    labelNames: ['pipeline', 'sink'],
    registers: [this.registry],
  });
  readonly deliveryLatency = new Histogram({
    name: 'hookroute_sink_send_seconds',
    help: 'Duration of one send attempt.',
    labelNames: ['pipeline', 'sink'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  /** Lanes whose queue depth is read when scraped (see trackQueueDepth). */
  private readonly queueDepthSources = new Map<() => number, { pipeline: string; sink: string }>();
  readonly queueDepth = new Gauge({
    name: 'hookroute_sink_queue_depth',
    help: 'Deliveries waiting in memory, by sink.',
    labelNames: ['pipeline', 'sink'],
    registers: [this.registry],
    collect: () => {
      for (const [read, labels] of this.queueDepthSources) this.queueDepth.set(labels, read());
    },
  });
  readonly backlog = new Gauge({
    name: 'hookroute_sink_backlog',
    help: 'Deliveries owed by a sink, on disk and in memory.',
    labelNames: ['pipeline', 'sink'],
    registers: [this.registry],
  });
  readonly breakerState = new Gauge({
    name: 'hookroute_sink_breaker_state',
    help: 'Circuit breaker: 0 closed, 1 half-open, 2 open.',
    labelNames: ['pipeline', 'sink'],
    registers: [this.registry],
  });
  readonly concurrencyLimit = new Gauge({
    name: 'hookroute_sink_concurrency_limit',
    help: 'Sends allowed in flight at once, by sink: fixed, or where `queue.concurrency: adaptive` has it now.',
    labelNames: ['pipeline', 'sink'],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'hookroute_dead_letters_total',
    help: 'Records written to the dead-letter queue, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  readonly journalBytes = new Gauge({
    name: 'hookroute_journal_bytes',
    help: 'Bytes of journal segments on disk.',
    registers: [this.registry],
  });
  readonly journalPending = new Gauge({
    name: 'hookroute_journal_pending_events',
    help: 'Accepted events with deliveries still owed.',
    registers: [this.registry],
  });
  readonly journalFsyncs = new Counter({
    name: 'hookroute_journal_fsyncs_total',
    help: 'fsync calls (group commits).',
    registers: [this.registry],
  });
  readonly journalWriteFailures = new Counter({
    name: 'hookroute_journal_write_failures_total',
    help: 'Journal writes or fsyncs that failed (disk full, I/O error); ingress answers 503 until one succeeds again.',
    registers: [this.registry],
  });
  readonly deadLetterBytes = new Gauge({
    name: 'hookroute_dead_letter_bytes',
    help: 'Bytes of dead-letter files on disk (counted against storage.maxDiskBytes with the journal).',
    registers: [this.registry],
  });
  readonly journalCorruptions = new Counter({
    name: 'hookroute_journal_corrupt_tails_total',
    help: 'Torn or corrupt journal tails cut off at start.',
    registers: [this.registry],
  });

  /**
   * Report a lane's queue depth by reading it at scrape time: it changes twice per delivery, and setting a labelled
   * gauge hashes its labels every time. The returned function stops reading, leaving the series at its last value.
   * @example
   * const untrack = metrics.trackQueueDepth({ pipeline: 'p', sink: 'file' }, () => lane.size);
   */
  trackQueueDepth(labels: { pipeline: string; sink: string }, read: () => number): () => void {
    this.queueDepthSources.set(read, labels);
    return () => {
      if (!this.queueDepthSources.delete(read)) return;
      this.queueDepth.set(labels, read());
    };
  }

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'hookroute_' });
  }
}
