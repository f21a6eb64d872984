// The `slack` sink: posts each payload to a Slack incoming webhook (a string becomes `{"text": ...}`); a batch is one
// message, one line per payload.
import Type, { type Static } from 'typebox';
import { Duration, parseDuration } from '../schema-kit/units.ts';
import { defineSink, permanent, type BatchItem, type SendOutcome, type SinkInstance } from './define.ts';
import { HttpClient, checkHttpUrl } from './util/http-client.ts';

/** https anywhere; plain http only to a loopback address (a local mock in tests), since the URL itself is the secret. */
const WEBHOOK_URL = '^(https://|http://(localhost|127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}|\\[::1\\])(:\\d+)?(/|$))';

export const SlackSinkOptions = Type.Object(
  {
    webhookUrl: Type.String({
      pattern: WEBHOOK_URL,
      description:
        'The incoming-webhook URL (a secret: use `${SLACK_WEBHOOK_URL}`). Must be https; http is accepted only to a loopback address, for tests.',
      examples: ['${SLACK_WEBHOOK_URL}'],
    }),
    timeout: Duration('10s', 'Time allowed for the whole exchange; past it the attempt is a retryable failure.'),
  },
  { additionalProperties: false, description: 'Options of the `slack` sink.' },
);

export type SlackSinkOptions = Static<typeof SlackSinkOptions>;

/** Slack answers in a few bytes (`ok`, `invalid_payload`); anything bigger is not worth reading. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The message Slack receives: a string becomes `{ text }`, an object (Block Kit) is sent as is. Undefined for anything else. */
export function slackMessage(payload: unknown): object | undefined {
  if (typeof payload === 'string') return { text: payload };
  if (typeof payload === 'number' || typeof payload === 'boolean') return { text: String(payload) };
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) return payload;
  return undefined;
}

/** Slack truncates a message's `text` past 40,000 characters: a batch longer than this is posted as several messages. */
export const SLACK_TEXT_LIMIT = 40_000;

/** One payload's line in a batch message: its text, or (Block Kit and other objects) its JSON. */
function slackLine(payload: unknown): string {
  const message = slackMessage(payload) as { text?: unknown } | undefined;
  if (message && typeof message.text === 'string') return message.text;
  return JSON.stringify(payload ?? null);
}

/**
 * The texts of a batch's messages: the payloads' lines joined by newlines, cut between lines into as few messages as
 * Slack's text limit allows (a single line over the limit goes alone; Slack truncates it).
 * @example
 * slackBatchTexts([{ payload: 'a', meta }, { payload: { text: 'b' }, meta }]) // ['a\nb']
 */
export function slackBatchTexts(items: readonly BatchItem[], limit = SLACK_TEXT_LIMIT): string[] {
  const texts: string[] = [];
  let current = '';
  for (const it of items) {
    const line = slackLine(it.payload);
    if (current && current.length + 1 + line.length > limit) {
      texts.push(current);
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current || texts.length === 0) texts.push(current);
  return texts;
}

/** Build a `slack` sink instance (the definition's `create`). */
export function createSlackSink(options: SlackSinkOptions): SinkInstance {
  if (!new RegExp(WEBHOOK_URL).test(options.webhookUrl))
    throw new Error('webhookUrl must be https (http only to a loopback address)');
  const url = checkHttpUrl(options.webhookUrl);
  const client = new HttpClient();
  const timeoutMs = parseDuration(options.timeout ?? '10s');
  const headers = { 'content-type': 'application/json; charset=utf-8' };
  // 4xx answers from Slack (invalid_payload, channel_not_found, ...) are permanent; 429 and 5xx retry via the shared rules.
  const post = (message: object, signal: AbortSignal) =>
    client.deliver(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(message),
      timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      signal,
    });
  return {
    async send(payload, _meta, signal) {
      const message = slackMessage(payload);
      if (message === undefined)
        return permanent(
          `a Slack message must be a string or an object, got ${Array.isArray(payload) ? 'an array' : String(payload)}`,
        );
      return post(message, signal);
    },
    async sendBatch(items, _meta, signal) {
      // Parts already posted are posted again when a later one fails and the batch is retried (at-least-once).
      let outcome: SendOutcome | undefined;
      for (const text of slackBatchTexts(items)) {
        outcome = await post({ text }, signal);
        if (!outcome.ok) return outcome;
      }
      return outcome;
    },
    close: () => client.close(),
  };
}

/**
 * `type: slack`: one message per payload (or per batch), at most one a second per sink by default (Slack's webhook limit).
 * @example
 * sinks:
 *   - type: slack
 *     webhookUrl: ${SLACK_WEBHOOK_URL}
 */
export const slackSink = defineSink({
  type: 'slack',
  description: 'Posts each payload to a Slack incoming webhook; a string payload becomes {"text": ...}.',
  options: SlackSinkOptions,
  defaults: { rate: '1/s', concurrency: 1 },
  batches: true,
  create: (options) => createSlackSink(options),
});
