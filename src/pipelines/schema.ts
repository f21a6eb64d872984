// The pipeline file format: one TypeBox schema for `pipelines/*.yaml`, shared by the loader, `validate` and the docs.
import Type, { type Static } from 'typebox';
import { BatchSchema, BreakerSchema, QueueSchema, RetrySchema } from '../delivery/policy.ts';
import { DedupeSchema } from './dedupe.ts';

/** Keys every sink entry may carry besides the sink's own options. */
export const COMMON_SINK_KEYS = ['type', 'name', 'transform', 'retry', 'queue', 'breaker', 'batch'] as const;

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
    batch: Type.Optional(BatchSchema),
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
    dedupe: Type.Optional(DedupeSchema),
    sinks: Type.Array(SinkEntrySchema, {
      minItems: 1,
      description: 'Where matching events go (each gets every event).',
    }),
  },
  { additionalProperties: false, description: 'One pipeline: which events, what shape, which sinks.' },
);

export type PipelineInput = Static<typeof PipelineSchema>;
