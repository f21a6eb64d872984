// Example plugin: a `discord` sink posting each payload to a Discord webhook. Copy it to start your own.
// Outside this repository, import the same names from 'hookroute' instead of '../src/index.ts'.
import {
  classifyReply,
  defineSink,
  HttpClient,
  permanent,
  Type,
  type HttpReply,
  type SendOutcome,
  type Static,
} from '../src/index.ts';

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

/** 429 answers carry `retry_after` in seconds (a float) in the JSON body; without it, the shared Retry-After rule. */
function bodyRetryAfterMs(text: string): number | undefined {
  try {
    const seconds = (JSON.parse(text) as { retry_after?: unknown }).retry_after;
    if (typeof seconds === 'number' && seconds >= 0) return Math.ceil(seconds * 1000);
  } catch {
    // not JSON: the Retry-After header decides
  }
  return undefined;
}

/** The shared status rule (2xx ok; 408, 429, 5xx retryable; other 4xx permanent), with Discord's body wait and prefix. */
function discordOutcome(reply: HttpReply): SendOutcome {
  const outcome = classifyReply(reply);
  if (outcome.ok) return outcome;
  const wait = reply.status === 429 ? (bodyRetryAfterMs(reply.text) ?? outcome.retryAfterMs) : outcome.retryAfterMs;
  const error = `discord: HTTP ${reply.status}${reply.text ? ` ${reply.text.slice(0, 200)}` : ''}`;
  return { ...outcome, error, ...(wait === undefined ? {} : { retryAfterMs: wait }) };
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
    const url = new URL(options.url);
    // Shared machinery: keep-alive pool, bounded reply read, timeouts and network errors as retryable outcomes.
    const client = new HttpClient();
    return {
      async send(payload, _meta, signal) {
        const message = discordMessage(payload, options.username);
        if (!message) return permanent('discord: the payload must be a string or an object');
        const request = {
          method: 'POST' as const,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(message),
          timeoutMs: options.timeout ?? 10_000,
          maxResponseBytes: MAX_REPLY_BYTES,
          signal,
        };
        const outcome = await client.deliver(url, request, discordOutcome);
        // The URL is a secret: failures name the kind of error, never the request.
        return outcome.ok || outcome.error.startsWith('discord:')
          ? outcome
          : { ...outcome, error: `discord: ${outcome.error}` };
      },
      close: () => client.close(),
    };
  },
});
