// The pipeline file format: one TypeBox schema for `pipelines/*.yaml`, shared by the loader, `validate` and the docs.
import Type, { type Static } from 'typebox';
import { Duration } from '../schema-kit/units.ts';

export const RetrySchema = Type.Object(
  {
    attempts: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 8,
      description: 'Attempts in all, the first one included.',
    }),
    initialDelay: Duration(
      '500ms',
      'Upper bound of the first backoff (full jitter: the wait is random between 0 and the bound).',
    ),
    maxDelay: Duration('5m', 'Largest wait between attempts; also caps `Retry-After`.'),
  },
  { additionalProperties: false, description: 'Retries with exponential backoff and full jitter.' },
);

export const QueueSchema = Type.Object(
  {
    concurrency: Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 4,
      description: 'Deliveries in flight at once for this sink.',
    }),
    rate: Type.Optional(
      Type.String({
        pattern: '^\\s*\\d+\\s*/\\s*(\\d+\\s*)?(ms|s|m|h)\\s*$',
        description: 'Most deliveries per interval, e.g. `1/s`, `100/m`, `5/10s`.',
        examples: ['1/s'],
      }),
    ),
    capacity: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1000,
      description: 'Deliveries held in memory; more wait in the journal on disk.',
    }),
  },
  { additionalProperties: false, description: 'The bounded queue in front of the sink.' },
);

export const BreakerSchema = Type.Object(
  {
    threshold: Type.Integer({
      minimum: 1,
      default: 10,
      description: 'Consecutive failed attempts (across all deliveries of this sink) that open the breaker.',
    }),
    cooldown: Duration(
      '10s',
      'Pause before one probe delivery is let through (half-open); never longer than `retry.maxDelay`.',
    ),
  },
  { additionalProperties: false, description: 'Per-sink circuit breaker.' },
);

/** Keys every sink entry may carry besides the sink's own options. */
export const COMMON_SINK_KEYS = ['type', 'name', 'transform', 'retry', 'queue', 'breaker'] as const;

export const SinkEntrySchema = Type.Object(
  {
    type: Type.String({ minLength: 1, description: 'Sink type: `http`, `slack`, `file`, `stdout` or a plugin type.' }),
    name: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
        description: 'Id of this sink within the pipeline (default: its type, numbered if repeated).',
      }),
    ),
    transform: Type.Optional(
      Type.String({ description: 'JSONata that overrides the pipeline transform for this sink (input: the event).' }),
    ),
    retry: Type.Optional(RetrySchema),
    queue: Type.Optional(QueueSchema),
    breaker: Type.Optional(BreakerSchema),
  },
  {
    additionalProperties: true,
    description: "A destination; keys other than the common ones are the sink type's options.",
  },
);

export const PipelineSchema = Type.Object(
  {
    name: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$',
        description: 'Unique pipeline name (default: the file name without extension).',
      }),
    ),
    description: Type.Optional(Type.String()),
    enabled: Type.Boolean({
      default: true,
      description: 'A disabled pipeline is loaded and checked but receives no events.',
    }),
    catchAll: Type.Boolean({ default: false, description: 'Receive only the events that no other pipeline matched.' }),
    match: Type.Optional(
      Type.Object(
        {
          events: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              minItems: 1,
              description: 'eventNames or globs (`email*`); omitted: all events.',
            }),
          ),
          when: Type.Optional(
            Type.String({ description: 'JSONata predicate on the event; the pipeline matches when it is truthy.' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    transform: Type.Optional(
      Type.String({ description: 'JSONata producing the payload from the event; omitted: the event unchanged.' }),
    ),
    sinks: Type.Array(SinkEntrySchema, {
      minItems: 1,
      description: 'Where matching events go (each gets every event).',
    }),
  },
  { additionalProperties: false, description: 'One pipeline: which events, what shape, which sinks.' },
);

export type PipelineInput = Static<typeof PipelineSchema>;
