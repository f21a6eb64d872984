// Example plugin: a `discord` sink posting each payload to a Discord webhook. Copy it to start your own.
// Outside this repository, import the same names from 'hookroute' instead of '../src/index.ts'.
import { defineSink, ok, permanent, retryable, Type, type SendOutcome, type Static } from '../src/index.ts';

/** https anywhere; http only to a loopback address (a local mock in tests), since the webhook URL is itself the secret. */
const WEBHOOK_URL = '^(https://|http://(localhost|127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|\\[::1\\])(:\\d+)?(/|$))';
/** Discord rejects a `content` longer than this. */
const MAX_CONTENT = 2000;
/** Discord answers in a few hundred bytes; never buffer more than this of a reply. */
const MAX_REPLY_BYTES = 64 * 1024;

const DiscordOptions = Type.Object(
  {
    url: Type.String({
      pattern: WEBHOOK_URL,
      description:
        'The Discord webhook URL (a secret: use `${DISCORD_WEBHOOK_URL}`). https only; http only to loopback, for tests.',
      examples: ['${DISCORD_WEBHOOK_URL}'],
    }),
    username: Type.Optional(
      Type.String({ minLength: 1, maxLength: 80, description: "Overrides the webhook's display name." }),
    ),
    timeout: Type.Integer({
      minimum: 1,
      default: 10_000,
      description: 'Milliseconds allowed for one request; past it the attempt is retried.',
    }),
  },
  { additionalProperties: false },
);

type DiscordOptions = Static<typeof DiscordOptions>;

/** The message Discord receives: a string becomes `{ content }` (cut to 2000 characters), an object is sent as is. */
export function discordMessage(payload: unknown, username: string | undefined): Record<string, unknown> | undefined {
  let message: Record<string, unknown>;
  if (typeof payload === 'string') {
    message = { content: payload.length > MAX_CONTENT ? `${payload.slice(0, MAX_CONTENT - 1)}…` : payload };
  } else if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    message = payload as Record<string, unknown>;
  } else {
    return undefined;
  }
  return username && message.username === undefined ? { ...message, username } : message;
}

/** Read at most `max` bytes of a reply as text, then let the rest go. */
async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** 429 answers carry `retry_after` in seconds (a float) in the JSON body, and usually a Retry-After header too. */
function retryAfterMs(res: Response, text: string): number | undefined {
  try {
    const seconds = (JSON.parse(text) as { retry_after?: unknown }).retry_after;
    if (typeof seconds === 'number' && seconds >= 0) return Math.ceil(seconds * 1000);
  } catch {
    // not JSON: fall back to the header
  }
  const header = res.headers.get('retry-after');
  return header && /^\d+(\.\d+)?$/.test(header) ? Math.ceil(Number(header) * 1000) : undefined;
}

async function post(
  options: DiscordOptions,
  message: Record<string, unknown>,
  signal: AbortSignal,
): Promise<SendOutcome> {
  let res: Response;
  try {
    res = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeout ?? 10_000)]),
      redirect: 'manual',
    });
  } catch (err) {
    // The URL is a secret: report the kind of failure, never the request.
    const e = err as { name?: string; cause?: { code?: string } };
    return retryable(
      e.name === 'TimeoutError'
        ? 'discord: timed out'
        : `discord: network error ${e.cause?.code ?? e.name ?? ''}`.trim(),
    );
  }
  const text = await readSome(res, MAX_REPLY_BYTES).catch(() => '');
  const status = res.status;
  if (status >= 200 && status < 300) return ok();
  const error = `discord: HTTP ${status}${text ? ` ${text.slice(0, 200)}` : ''}`;
  if (status === 429) {
    const wait = retryAfterMs(res, text);
    return retryable(error, wait === undefined ? { status } : { status, retryAfterMs: wait });
  }
  if (status === 408 || status >= 500) return retryable(error, { status });
  return permanent(error, { status });
}

/**
 * `type: discord`
 * @example
 * sinks:
 *   - type: discord
 *     url: ${DISCORD_WEBHOOK_URL}
 *     username: hookroute
 */
export default defineSink({
  type: 'discord',
  description: 'Posts each payload to a Discord webhook; a string payload becomes {"content": ...}.',
  options: DiscordOptions,
  // Discord allows about 5 requests per 2 seconds per webhook.
  defaults: { rate: '5/2s', concurrency: 1 },
  create(options) {
    if (!new RegExp(WEBHOOK_URL).test(options.url))
      throw new Error('url must be https (http only to a loopback address)');
    return {
      async send(payload, _meta, signal) {
        const message = discordMessage(payload, options.username);
        if (!message) return permanent('discord: the payload must be a string or an object');
        return post(options, message, signal);
      },
      async close() {},
    };
  },
});
