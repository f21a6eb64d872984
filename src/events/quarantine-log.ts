// One log line per quarantined event, rate-limited: an invalid event is never silent, and a flood of them cannot flood the log.
import type { Logger } from '../log.ts';
import type { ValidationIssue } from './record.ts';

/**
 * Logs quarantined events at `warn` (eventName and where the schema broke; never the payload), at most `perWindow`
 * lines per `windowMs`; the rest are counted and reported in one summary line when the next window opens.
 * @example const q = new QuarantineLog(logger); q.note('emailSend', [{ path: '/dataFields/campaignId', message: 'must be integer' }]);
 */
export class QuarantineLog {
  private windowStart = 0;
  private logged = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly perWindow = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  note(eventLabel: string, issues: readonly ValidationIssue[]): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) {
        this.logger.warn(
          { suppressed: this.suppressed, windowMs: this.windowMs },
          'more events quarantined than logged (see hookroute_events_quarantined_total and `hookroute dlq list`)',
        );
      }
      this.windowStart = t;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged >= this.perWindow) {
      this.suppressed++;
      return;
    }
    this.logged++;
    this.logger.warn(
      {
        eventName: eventLabel,
        issues: issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`),
        moreIssues: Math.max(0, issues.length - 5),
      },
      'event quarantined: it breaks its schema; accepted and kept in the dead-letter queue',
    );
  }
}
