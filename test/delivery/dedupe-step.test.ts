import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { dedupeEngine, routerOf, settle, until, type DedupeHarness } from '../fixtures/dedupe-engine.ts';

const bounce = {
  email: 'u@x.com',
  eventName: 'emailBounce',
  dataFields: {
    email: 'u@x.com',
    campaignId: 59667,
    messageId: 'd0aa7801f91f4824997a631f3ed583c3',
    createdAt: '2016-12-02 20:21:04 +00:00',
    recipientState: 'HardBounce',
  },
};
const click = (linkId: string) => ({
  email: 'u@x.com',
  eventName: 'emailClick',
  dataFields: {
    messageId: 'd0aa7801f91f4824997a631f3ed583c3',
    createdAt: '2016-12-02 20:31:39 +00:00',
    linkId,
    url: `https://example.com/${linkId}`,
  },
});
const pipeline = (dedupe: unknown, name = 'alerts') => ({ name, dedupe, sinks: [{ type: 'stdout' }] });

let dir: string;
let open: DedupeHarness[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookroute-dedupe-'));
  open = [];
});
afterEach(async () => {
  for (const h of open) await h.engine.shutdown(0);
  await rm(dir, { recursive: true, force: true });
});
const start = async (docs: Record<string, unknown>[]) => {
  const h = await dedupeEngine(dir, routerOf(docs));
  open.push(h);
  return h;
};
const stop = async (h: DedupeHarness) => {
  await h.engine.shutdown(1000);
  open.splice(open.indexOf(h), 1);
};

describe('dedupe in routing', () => {
  it('delivers the same emailBounce posted 3 times once, and counts the 2 duplicates', async () => {
    const h = await start([pipeline(true)]);
    for (let i = 0; i < 3; i++) await h.post(bounce);
    await until(() => h.delivered('alerts/stdout').length >= 1, 'first copy delivered');
    await settle();
    assert.equal(h.delivered('alerts/stdout').length, 1);
    const text = await h.metrics.registry.metrics();
    assert.match(text, /hookroute_events_deduplicated_total\{pipeline="alerts"\} 2/);
    assert.deepEqual(h.engine.dedupeStats('alerts'), { deduplicated: 2, keys: 1, evicted: 0 });
  });

  it('copies routed in one batch: only the first goes out', async () => {
    const h = await start([pipeline(true)]);
    await Promise.all([h.post(bounce), h.post(bounce), h.post(bounce)]);
    await until(() => h.delivered('alerts/stdout').length >= 1, 'delivered');
    await settle();
    assert.equal(h.delivered('alerts/stdout').length, 1);
  });

  it('a click on another link of the same message is not a duplicate', async () => {
    const h = await start([pipeline(true)]);
    await h.post(click('111'));
    await h.post(click('222'));
    await h.post(click('111'));
    await until(() => h.delivered('alerts/stdout').length >= 2, 'both links delivered');
    await settle();
    assert.equal(h.delivered('alerts/stdout').length, 2);
  });

  it('dedupes per pipeline: a pipeline without dedupe still gets every copy', async () => {
    const h = await start([pipeline(true), pipeline(undefined, 'all')]);
    for (let i = 0; i < 3; i++) await h.post(bounce);
    await until(() => h.delivered('all/stdout').length === 3, 'every copy to the plain pipeline');
    await settle();
    assert.equal(h.delivered('alerts/stdout').length, 1);
  });

  it('a copy after the window is delivered again', async () => {
    const h = await start([pipeline({ window: '1s' })]);
    const t0 = Date.now();
    await h.post(bounce, t0);
    await h.post(bounce, t0 + 999);
    await h.post(bounce, t0 + 1000);
    await until(() => h.delivered('alerts/stdout').length >= 2, 'delivered again after the window');
    await settle();
    assert.equal(h.delivered('alerts/stdout').length, 2);
  });

  it('a custom key: same key, one delivery', async () => {
    const h = await start([pipeline({ key: 'dataFields.messageId' })]);
    await h.post(click('1'));
    await h.post(click('2'));
    await until(() => h.delivered('alerts/stdout').length >= 1, 'delivered');
    await settle();
    assert.equal(h.delivered('alerts/stdout').length, 1);
  });

  it('a key expression that fails dead-letters the event for that pipeline with the error', async () => {
    const h = await start([pipeline({ key: '$error("no key here")' }), pipeline(undefined, 'all')]);
    await h.post(bounce);
    await until(() => h.deadLetters.length === 1, 'dead-lettered');
    await until(() => h.delivered('all/stdout').length === 1, 'other pipeline unaffected');
    assert.equal(h.delivered('alerts/stdout').length, 0);
    const [dl] = h.deadLetters;
    assert.equal(dl!.pipeline, 'alerts');
    assert.match(dl!.lastError, /dedupe\.key: no key here/);
    assert.match(
      await h.metrics.registry.metrics(),
      /hookroute_pipeline_errors_total\{pipeline="alerts",stage="dedupe"\} 1/,
    );
  });

  it('a key expression with no value dead-letters too', async () => {
    const h = await start([pipeline({ key: 'dataFields.nothing' })]);
    await h.post(bounce);
    await until(() => h.deadLetters.length === 1, 'dead-lettered');
    assert.match(h.deadLetters[0]!.lastError, /dedupe\.key produced no value/);
  });

  it('seen keys survive a restart', async () => {
    const first = await start([pipeline(true)]);
    await first.post(bounce);
    await until(() => first.delivered('alerts/stdout').length === 1, 'delivered');
    await stop(first);
    const second = await start([pipeline(true)]);
    await second.post(bounce);
    await settle();
    await until(() => second.engine.dedupeStats('alerts').deduplicated === 1, 'recognised after restart');
    assert.equal(second.delivered('alerts/stdout').length, 0);
  });

  it('a dead-letter replay is delivered even though its key was seen', async () => {
    const h = await start([pipeline(true)]);
    await h.post(bounce);
    await until(() => h.delivered('alerts/stdout').length === 1, 'delivered');
    await h.engine.replay([
      {
        id: 'x',
        reason: 'delivery_failed',
        eventId: 1,
        eventName: 'emailBounce',
        receivedAt: Date.now(),
        event: bounce,
        pipeline: 'alerts',
        sink: 'stdout',
        attempts: 8,
        lastError: '503',
        deadAt: Date.now(),
      },
    ]);
    await until(() => h.delivered('alerts/stdout').length === 2, 'replay delivered');
    assert.equal(h.engine.dedupeStats('alerts').deduplicated, 0);
  });
});
