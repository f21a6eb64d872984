// Generated pipeline files for the scenarios: a realistic spread of matches, JSONata transforms and sinks.
import { join } from 'node:path';

/** The transform the `naive` baseline runs on every event; route pipelines use it too, so the work compares. */
export const NAIVE_TRANSFORM =
  '{ "type": eventName, "email": email, "campaign": dataFields.campaignId, "at": dataFields.createdAt }';

const EVENTS = [
  ['emailSend'],
  ['emailOpen', 'emailClick'],
  ['email*'],
  ['push*'],
  ['inAppSend', 'inAppOpen'],
  ['emailBounce', 'emailComplaint'],
  undefined,
  ['sms*'],
  ['emailUnSubscribe', 'hostedUnsubscribeClick'],
  ['emailSendSkip'],
];
const WHENS = [
  undefined,
  'dataFields.campaignId in [59667, 721398]',
  '$exists(email)',
  undefined,
  'dataFields.templateId > 100000',
];
const TRANSFORMS = [
  NAIVE_TRANSFORM,
  undefined,
  '{ "text": ":warning: " & eventName & " for " & (email ? email : userId) }',
  '$merge([$, { "source": "iterable" }])',
];

function yamlList(items: string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;
}

function block(text: string): string {
  return `|\n    ${text}`;
}

/**
 * `count` pipelines, each with one file sink under `outDir`, as `{ fileName: yaml }`.
 * @example mixedPipelines(20, '/tmp/out')['p01.yaml'] // 'name: p01\nmatch: ...'
 */
export function mixedPipelines(count: number, outDir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const name = `p${String(i + 1).padStart(3, '0')}`;
    const events = EVENTS[i % EVENTS.length];
    const when = WHENS[i % WHENS.length];
    const transform = TRANSFORMS[i % TRANSFORMS.length];
    const lines = [`name: ${name}`, `description: generated bench pipeline ${i + 1}`];
    if (events || when) {
      lines.push('match:');
      if (events) lines.push(`  events: ${yamlList(events)}`);
      if (when) lines.push(`  when: ${JSON.stringify(when)}`);
    }
    if (transform) lines.push(`transform: ${block(transform).replace(/\n {4}/, '\n  ')}`);
    lines.push('sinks:', '  - type: file', `    path: ${JSON.stringify(join(outDir, `${name}.jsonl`))}`);
    files[`${name}.yaml`] = `${lines.join('\n')}\n`;
  }
  return files;
}

/**
 * One pipeline for every event, with `sinks` file sinks (the fan-out scenario); `transform: false` delivers the raw
 * event, which isolates the delivery path from JSONata (the `nojs` cost scenario).
 * @example fanoutPipeline(5, '/tmp/out') // { 'fanout.yaml': ... }
 */
export function fanoutPipeline(
  sinks: number,
  outDir: string,
  opts: { transform?: boolean } = {},
): Record<string, string> {
  const lines = [
    'name: fanout',
    ...(opts.transform === false ? [] : [`transform: ${block(NAIVE_TRANSFORM).replace(/\n {4}/, '\n  ')}`]),
    'sinks:',
  ];
  for (let i = 1; i <= sinks; i++)
    lines.push(
      '  - type: file',
      `    name: file${i}`,
      `    path: ${JSON.stringify(join(outDir, `fanout-${i}.jsonl`))}`,
    );
  return { 'fanout.yaml': `${lines.join('\n')}\n` };
}

/**
 * One pipeline delivering every event to an http sink at `url`. Retries are generous and the breaker short,
 * so an outage of minutes leaves events waiting (journal) instead of dead-lettered.
 * @example httpPipeline('http://127.0.0.1:4000/in')
 */
export function httpPipeline(url: string): Record<string, string> {
  const yaml = [
    'name: to-http',
    'sinks:',
    '  - type: http',
    `    url: ${JSON.stringify(url)}`,
    '    method: POST',
    '    timeout: 5s',
    '    retry: { attempts: 100, initialDelay: 50ms, maxDelay: 1s }',
    '    breaker: { threshold: 5, cooldown: 500ms }',
    '    queue: { concurrency: 32, capacity: 1000 }',
  ];
  return { 'to-http.yaml': `${yaml.join('\n')}\n` };
}
