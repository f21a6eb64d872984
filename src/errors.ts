// Every error the daemon answers with, in one table: a stable code, its HTTP status and the human message.

/** One row of the error table. */
export interface ErrorSpec {
  status: number;
  message: string;
}

/**
 * The error table. Every non-2xx answer carries `{"error": "<code>", "message": "<message>"}` from here;
 * a test proves that every code the server code uses is listed and that each row is well formed.
 */
export const ERRORS = {
  invalid_content_length: { status: 400, message: 'Content-Length is malformed.' },
  invalid_json: { status: 400, message: 'Request body is not valid JSON.' },
  invalid_utf8: { status: 400, message: 'Request body is not valid UTF-8.' },
  json_too_deep: { status: 400, message: 'Request body nests deeper than the allowed limit.' },
  not_an_object: { status: 400, message: 'Request body must be one JSON object.' },
  missing_event_name: { status: 400, message: 'Request body must have a non-empty string "eventName".' },
  unauthorized: { status: 401, message: 'Missing or invalid credentials.' },
  // JWT access tokens (auth.oauth2.jwt): one code per reason, answered with `WWW-Authenticate: Bearer error="invalid_token"`.
  token_malformed: { status: 401, message: 'Access token is not a well-formed JWT.' },
  token_algorithm_refused: {
    status: 401,
    message: 'Access token is signed with an algorithm not in auth.oauth2.jwt.algorithms.',
  },
  token_unknown_key: { status: 401, message: 'Access token is signed by a key (kid) that is not in the JWKS.' },
  token_bad_signature: { status: 401, message: 'Access token signature does not verify.' },
  token_expired: { status: 401, message: 'Access token has expired (exp).' },
  token_not_yet_valid: { status: 401, message: 'Access token is not valid yet (nbf).' },
  token_wrong_issuer: { status: 401, message: 'Access token comes from another issuer (iss).' },
  token_wrong_audience: { status: 401, message: 'Access token is meant for another audience (aud).' },
  token_claims_invalid: { status: 401, message: 'Access token has no exp, or a malformed or future iat/nbf/exp.' },
  forbidden: { status: 403, message: 'Source address is not allowed.' },
  not_found: { status: 404, message: 'No such endpoint.' },
  method_not_allowed: { status: 405, message: 'Method not allowed on this path.' },
  payload_too_large: {
    status: 413,
    message: 'Request body is larger than allowed (ingress: server.maxBodyBytes; admin requests take no body).',
  },
  unsupported_media_type: { status: 415, message: 'Content-Type must be application/json.' },
  invalid_event: { status: 422, message: 'Event does not match its schema.' },
  headers_too_large: { status: 431, message: 'Request headers are larger than server.maxHeaderBytes.' },
  internal_error: { status: 500, message: 'Internal error; the event was not accepted.' },
  overloaded: { status: 503, message: 'Too many requests in flight; retry later.' },
  shutting_down: { status: 503, message: 'Shutting down; retry later.' },
  storage_full: { status: 503, message: 'Storage is full; retry later.' },
  storage_error: { status: 503, message: 'Storage is failing; retry later.' },
  auth_unavailable: {
    status: 503,
    message: 'The signing keys (JWKS) cannot be fetched, so the access token cannot be checked; retry later.',
  },
  // Admin listener.
  bad_request: { status: 400, message: 'Query parameters `pipeline` and `sink` must be at most 256 characters.' },
  admin_action_failed: { status: 500, message: 'The admin action failed; see the daemon log.' },
  // OAuth 2.0 token endpoint errors use the codes RFC 6749 section 5.2 defines.
  invalid_request: { status: 400, message: 'Token request is malformed (use application/x-www-form-urlencoded).' },
  invalid_client: { status: 401, message: 'Client authentication failed.' },
  unsupported_grant_type: { status: 400, message: 'Only grant_type=client_credentials is supported.' },
} as const satisfies Record<string, ErrorSpec>;

/** A code from the error table. */
export type ErrorCode = keyof typeof ERRORS;

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const STATUS_LINES = new Map(Object.entries(REASONS).map(([code, reason]) => [Number(code), `${code} ${reason}`]));

/** The HTTP status line text for a status, e.g. `413 Payload Too Large`. */
export function statusLine(status: number): string {
  return STATUS_LINES.get(status) ?? `${status} Error`;
}

/** Pre-serialised `{"error","message"}` bodies: error answers cost no JSON.stringify at request time. */
const BODIES = Object.fromEntries(
  Object.entries(ERRORS).map(([code, spec]) => [code, JSON.stringify({ error: code, message: spec.message })]),
) as Record<ErrorCode, string>;

/**
 * The JSON body for an error code.
 * @example errorBody('not_found') // '{"error":"not_found","message":"No such endpoint."}'
 */
export function errorBody(code: ErrorCode): string {
  return BODIES[code];
}

/** `docs/errors.md`: the table above as markdown, so the documentation cannot drift from the code (`npm run docs`). */
export function renderErrorDoc(): string {
  const rows = Object.entries(ERRORS).map(([code, spec]) => `| \`${code}\` | ${spec.status} | ${spec.message} |`);
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/errors.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Every non-2xx answer of the ingress, the OAuth token endpoint and the admin listener has the body',
    '`{"error": "<code>", "message": "<message>"}` with one of these codes.',
    '',
    '| code | status | message |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
