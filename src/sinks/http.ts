// The `http` sink: sends each payload (or batch: a JSON array or NDJSON) to a fixed URL over keep-alive connections,
// with an Idempotency-Key a destination can deduplicate on.
import Type, { type Static } from 'typebox';
import { Duration, Size, parseDuration, parseSize } from '../schema-kit/units.ts';
import { defineSink, permanent, type BatchItem, type SinkInstance, type SinkContext } from './define.ts';
import { HttpClient, checkHttpUrl, loadCa } from './util/http-client.ts';
import { payloadJson } from './util/payload-json.ts';

/** A header name as RFC 9110 allows it (a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const HttpTlsSchema = Type.Object(
  {
    rejectUnauthorized: Type.Boolean({
      default: true,
      description: 'Check the server certificate. Turn off only for a test server.',
    }),
    ca: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Extra CA to trust: a PEM text or the path of a PEM file (relative to the config folder).',
        examples: ['./certs/internal-ca.pem'],
      }),
    ),
  },
  { additionalProperties: false, description: 'TLS settings for https URLs.' },
);

export const HttpSinkOptions = Type.Object(
  {
    url: Type.String({
      pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
      description: 'Where to send: an http or https URL, fixed in the pipeline (never built from event data).',
      examples: ['https://api.example.com/hooks/iterable'],
    }),
    method: Type.Union([Type.Literal('POST'), Type.Literal('PUT'), Type.Literal('PATCH')], {
      default: 'POST',
      description: 'HTTP method.',
    }),
    headers: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Extra request headers; use `${VAR}` for secrets. `content-type` defaults to `application/json`.',
        examples: [{ authorization: 'Bearer ${API_TOKEN}' }],
      }),
    ),
    timeout: Duration(
      '10s',
      'Time allowed for the whole exchange (connect, response headers and body); past it the attempt is a retryable failure.',
    ),
    tls: Type.Optional(HttpTlsSchema),
    encoding: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('ndjson')], {
        default: 'json',
        description:
          'Body of a batch (`batch:`): `json`, one JSON array; `ndjson`, one payload a line (`Content-Type: application/x-ndjson`). Without `batch:`, `ndjson` sends the one payload as one line.',
      }),
    ),
    maxResponseBytes: Size(
      '1mb',
      'Response body bytes read at most (then discarded); a longer body is cut off by closing the connection.',
    ),
  },
  { additionalProperties: false, description: 'Options of the `http` sink.' },
);

export type HttpSinkOptions = Static<typeof HttpSinkOptions>;

/** The JSON text sent for a payload. A string payload is sent as a JSON string (`"text"`), not raw. */
export function jsonBody(payload: unknown): string {
  return payloadJson(payload);
}

/**
 * The body of a batch: a JSON array of the payloads, or one payload a line (NDJSON, each line ending in `\n`).
 * @example
 * batchBody([{ payload: { a: 1 }, meta }, { payload: 'x', meta }], 'ndjson') // '{"a":1}\n"x"\n'
 */
export function batchBody(items: readonly BatchItem[], encoding: 'json' | 'ndjson'): string {
  const texts = items.map((it) => jsonBody(it.payload));
  return encoding === 'ndjson' ? `${texts.join('\n')}\n` : `[${texts.join(',')}]`;
}

/** The request header carrying the key a destination deduplicates on (the IETF httpapi draft's name). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Build an `http` sink instance (the definition's `create`). Throws on options that cannot work. */
export function createHttpSink(options: HttpSinkOptions, ctx: Pick<SinkContext, 'baseDir'>): SinkInstance {
  const url = checkHttpUrl(options.url);
  const encoding = options.encoding ?? 'json';
  const headers: Record<string, string> = {
    'content-type': encoding === 'ndjson' ? 'application/x-ndjson' : 'application/json',
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!HEADER_NAME.test(name)) throw new Error(`header name "${name}" is not valid`);
    if (name.toLowerCase() === IDEMPOTENCY_HEADER) throw new Error(`header "${name}" is set by hookroute`);
    headers[name.toLowerCase()] = value;
  }
  const tls = { rejectUnauthorized: options.tls?.rejectUnauthorized ?? true, ca: loadCa(options.tls?.ca, ctx.baseDir) };
  const client = new HttpClient({ tls });
  const timeoutMs = parseDuration(options.timeout ?? '10s');
  const maxResponseBytes = parseSize(options.maxResponseBytes ?? '1mb');
  const method = options.method ?? 'POST';
  const post = (body: string, key: string, signal: AbortSignal) =>
    client.deliver(url, {
      method,
      headers: { ...headers, [IDEMPOTENCY_HEADER]: key },
      body,
      timeoutMs,
      maxResponseBytes,
      signal,
    });
  return {
    async send(payload, meta, signal) {
      let body: string;
      try {
        body = jsonBody(payload);
      } catch (err) {
        return permanent(`payload is not JSON-serialisable: ${(err as Error).message}`);
      }
      return post(encoding === 'ndjson' ? `${body}\n` : body, meta.idempotencyKey, signal);
    },
    async sendBatch(items, meta, signal) {
      let body: string;
      try {
        body = batchBody(items, encoding);
      } catch (err) {
        // Permanent: the lane splits the batch until the one payload that cannot be written is alone.
        return permanent(`payload is not JSON-serialisable: ${(err as Error).message}`);
      }
      return post(body, meta.idempotencyKey, signal);
    },
    close: () => client.close(),
  };
}

/**
 * `type: http`: POST (or PUT/PATCH) the payload as JSON, or with `batch:` many payloads as a JSON array or NDJSON.
 * 2xx is delivered; 408, 429 and 5xx are retried (honouring `Retry-After`); other statuses are dead-lettered;
 * network errors and timeouts are retried. Every request carries `Idempotency-Key`. Concurrency is adaptive by default.
 * @example
 * sinks:
 *   - type: http
 *     url: https://api.example.com/hooks
 *     headers: { authorization: "Bearer ${API_TOKEN}" }
 *     batch: { maxEvents: 500 }
 */
export const httpSink = defineSink({
  type: 'http',
  description:
    'Sends each payload (or batch) as a JSON request body to an HTTP(S) endpoint, with an Idempotency-Key header.',
  options: HttpSinkOptions,
  // A destination across a network answers in tens of milliseconds: a fixed handful of requests in flight caps
  // delivery far below what a blast sends, so the limit finds the destination's capacity itself.
  defaults: { concurrency: 'adaptive' },
  batches: true,
  create: (options, ctx) => createHttpSink(options, ctx),
});
