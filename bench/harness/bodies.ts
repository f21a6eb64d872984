// The request bodies the load generator cycles through: a weighted, pre-serialised mix of realistic Iterable events.
import { sampleEvent } from '../../src/events/samples.ts';

/** Roughly how a marketing send looks on the wire: sends dominate, then opens, clicks, the rare bounce. */
const MIX: [eventName: string, weight: number][] = [
  ['emailSend', 36],
  ['emailOpen', 22],
  ['emailClick', 9],
  ['pushSend', 8],
  ['inAppSend', 5],
  ['emailSendSkip', 4],
  ['pushOpen', 3],
  ['smsSend', 3],
  ['emailBounce', 2],
  ['inAppOpen', 2],
  ['emailUnSubscribe', 1],
  ['emailComplaint', 1],
  ['hostedUnsubscribeClick', 1],
  ['smsReceived', 1],
  ['webPushSend', 1],
  ['journeyExit', 1],
];

export interface BodyMix {
  /** Serialised JSON bodies, in send order. */
  bodies: string[];
  /** Where the shapes came from. */
  source: string;
}

/**
 * Build `count` bodies following the weighted event mix, deterministic across runs.
 * @example const { bodies } = await loadBodyMix(500); // bodies[0] is a JSON string
 */
export async function loadBodyMix(count: number): Promise<BodyMix> {
  const wheel: string[] = [];
  for (const [name, weight] of MIX) for (let i = 0; i < weight; i++) wheel.push(name);
  const bodies: string[] = [];
  for (let seq = 0; seq < count; seq++) {
    // Stride through the wheel so consecutive requests are different event types, as in a real blast.
    const name = wheel[(seq * 37) % wheel.length]!;
    bodies.push(JSON.stringify(sampleEvent(name, seq)));
  }
  return { bodies, source: 'src/events/samples.ts' };
}
