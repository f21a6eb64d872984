// The public plugin API (`import { defineSink, Type } from 'hookroute'`): the only barrel file, kept to what plugin authors need.
export { defineSink, ok, retryable, permanent } from './sinks/define.ts';
export type {
  SinkDefinition,
  SinkInstance,
  SinkContext,
  SinkLogger,
  DeliveryMeta,
  SendOutcome,
} from './sinks/define.ts';
export { default as Type } from 'typebox';
export type { Static, TSchema } from 'typebox';
