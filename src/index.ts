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
// The HTTP machinery the built-in http and slack sinks use: pooled keep-alive requests, bounded reply reading,
// the status rule (2xx ok; 408, 429, 5xx retryable with Retry-After; other 4xx permanent) and URL checks.
export { HttpClient, checkHttpUrl, classifyReply, parseRetryAfter } from './sinks/util/http-client.ts';
export type { HttpExchange, HttpReply } from './sinks/util/http-client.ts';
export { default as Type } from 'typebox';
export type { Static, TSchema } from 'typebox';
