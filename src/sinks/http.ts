// The `http` sink: sends each payload as a JSON body to a fixed URL over keep-alive connections.
import Type, { type Static } from 'typebox';
import { Duration, Size, parseDuration, parseSize } from '../schema-kit/units.ts';
import { defineSink, permanent, type SinkInstance, type SinkContext } from './define.ts';
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

/** Build an `http` sink instance (the definition's `create`). Throws on options that cannot work. */
export function createHttpSink(options: HttpSinkOptions, ctx: Pick<SinkContext, 'baseDir'>): SinkInstance {
  const url = checkHttpUrl(options.url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!HEADER_NAME.test(name)) throw new Error(`header name "${name}" is not valid`);
    headers[name.toLowerCase()] = value;
  }
  const tls = { rejectUnauthorized: options.tls?.rejectUnauthorized ?? true, ca: loadCa(options.tls?.ca, ctx.baseDir) };
  const client = new HttpClient({ tls });
  const timeoutMs = parseDuration(options.timeout ?? '10s');
  const maxResponseBytes = parseSize(options.maxResponseBytes ?? '1mb');
  const method = options.method ?? 'POST';
  return {
    async send(payload, _meta, signal) {
      let body: string;
      try {
        body = jsonBody(payload);
      } catch (err) {
        return permanent(`payload is not JSON-serialisable: ${(err as Error).message}`);
      }
      return client.deliver(url, { method, headers, body, timeoutMs, maxResponseBytes, signal });
    },
    close: () => client.close(),
  };
}

/**
 * `type: http`: POST (or PUT/PATCH) the payload as JSON.
 * 2xx is delivered; 408, 429 and 5xx are retried (honouring `Retry-After`); other statuses are dead-lettered;
 * network errors and timeouts are retried.
 * @example
 * sinks:
 *   - type: http
 *     url: https://api.example.com/hooks
 *     headers: { authorization: "Bearer ${API_TOKEN}" }
 *     timeout: 5s
 */
export const httpSink = defineSink({
  type: 'http',
  description: 'Sends each payload as a JSON request body to an HTTP(S) endpoint.',
  options: HttpSinkOptions,
  create: (options, ctx) => createHttpSink(options, ctx),
});
