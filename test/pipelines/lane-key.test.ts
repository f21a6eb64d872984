import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { laneKey, splitLaneKey } from '../../src/pipelines/lane-key.ts';

describe('lane keys', () => {
  it('round-trips pipeline names that contain slashes', () => {
    for (const [pipeline, sink] of [
      ['bounces', 'slack'],
      ['team/a/bounces', 'http-2'],
    ] as const) {
      assert.deepEqual(splitLaneKey(laneKey(pipeline, sink)), { pipeline, sink });
    }
  });
  it('a key without a slash is a pipeline with no sink', () => {
    assert.deepEqual(splitLaneKey('alone'), { pipeline: 'alone', sink: '' });
  });
});
