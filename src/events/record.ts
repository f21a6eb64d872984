// The one internal record an accepted webhook becomes, and the narrow hand-off interface between ingress and what follows it.

/** One schema violation found in an event. */
export interface ValidationIssue {
  /** JSON pointer of the offending value, e.g. `/dataFields/campaignId`. */
  path: string;
  message: string;
}

/** An event that ingress accepted, before it is journaled. */
export interface IncomingEvent {
  /** Milliseconds since the epoch when the body was complete. */
  receivedAt: number;
  eventName: string;
  /** The exact request body bytes: this, not a re-serialisation, is what gets stored. */
  raw: Buffer;
  /** The parsed body (a plain object with a string `eventName`). */
  body: Record<string, unknown>;
  /** Schema violations; empty or undefined when the event is valid. Non-empty means quarantined. */
  invalid?: ValidationIssue[];
}

/** An event once it has an id (assigned by the journal). */
export interface EventRecord extends IncomingEvent {
  /** Unique, increasing id within one storage folder. */
  id: number;
}

/** Why a hand-off refused an event: ingress maps these to 503 with Retry-After. */
export class HandoffRefused extends Error {
  constructor(
    readonly reason: 'storage_full' | 'shutting_down' | 'storage_error',
    message: string,
    readonly retryAfterSeconds = 5,
  ) {
    super(message);
    this.name = 'HandoffRefused';
  }
}

/**
 * What ingress hands accepted events to. `accept` resolves once the event is durable (then ingress answers 200)
 * and rejects with `HandoffRefused` when it cannot take it (then ingress answers 503).
 */
export interface EventHandoff {
  accept(event: IncomingEvent): Promise<void>;
}
