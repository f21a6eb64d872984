// The `stdout` sink: one JSON line per payload on standard output (a batch in one write), surviving a closed pipe (EPIPE).
import type { Writable } from 'node:stream';
import Type, { type Static } from 'typebox';
import { defineSink, ok, permanent, retryable, type SendOutcome, type SinkInstance } from './define.ts';
import { payloadJson } from './util/payload-json.ts';

export const StdoutSinkOptions = Type.Object(
  {},
  { additionalProperties: false, description: 'The `stdout` sink has no options.' },
);

export type StdoutSinkOptions = Static<typeof StdoutSinkOptions>;

/** Streams whose reader has gone away; shared by every stdout sink writing to the same stream. */
const closedStreams = new WeakSet<Writable>();

/** Streams that already have the EPIPE guard; it stays for the life of the process, across sink reloads. */
const guardedStreams = new WeakSet<Writable>();

/** Without an 'error' listener an EPIPE is an uncaught exception that takes the daemon down. */
function guard(stream: Writable): void {
  if (guardedStreams.has(stream)) return;
  guardedStreams.add(stream);
  stream.on('error', () => closedStreams.add(stream));
}

function isClosed(stream: Writable): boolean {
  return closedStreams.has(stream) || stream.destroyed || stream.writableEnded;
}

/**
 * Build a `stdout` sink instance writing to `stream` (process.stdout unless a test passes another).
 * A closed stdout (EPIPE, reader exited) is a permanent failure: it never reopens for this process, so retrying
 * cannot help; the event goes to the dead-letter queue, where `hookroute dlq replay` can resend it later.
 */
export function createStdoutSink(stream: Writable = process.stdout): SinkInstance {
  guard(stream);
  const closedOutcome = (): SendOutcome => permanent('stdout is closed (EPIPE); the reader went away');

  const write = async (payloads: readonly unknown[], signal: AbortSignal): Promise<SendOutcome> => {
    if (isClosed(stream)) return closedOutcome();
    let line: string;
    try {
      line = payloads.map((p) => `${payloadJson(p)}\n`).join('');
    } catch (err) {
      return permanent(`payload is not JSON-serialisable: ${(err as Error).message}`);
    }
    const result = await writeLine(stream, line, signal);
    if (result === 'aborted') return retryable('aborted while stdout was full');
    if (result || isClosed(stream)) {
      closedStreams.add(stream);
      return closedOutcome();
    }
    // Backpressure: a slow reader slows deliveries down instead of growing memory.
    await waitForDrain(stream, signal);
    return ok();
  };

  return {
    send: (payload, _meta, signal) => write([payload], signal),
    sendBatch: (items, _meta, signal) =>
      write(
        items.map((it) => it.payload),
        signal,
      ),
    // The stream is shared and outlives the sink: nothing to release.
    async close() {},
  };
}

/** Write one line; resolves with the write's error (if any) once it is handed to the OS, or 'aborted'. */
function writeLine(stream: Writable, line: string, signal: AbortSignal): Promise<Error | null | undefined | 'aborted'> {
  return new Promise((resolveWrite) => {
    const onAbort = () => resolveWrite('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    stream.write(line, (err) => {
      signal.removeEventListener('abort', onAbort);
      resolveWrite(err);
    });
  });
}

/** Resolves when the stream has room again (or closes, errors, or the attempt is aborted). */
function waitForDrain(stream: Writable, signal: AbortSignal): Promise<void> {
  if (!stream.writableNeedDrain || isClosed(stream) || signal.aborted) return Promise.resolve();
  return new Promise((resolveWait) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      signal.removeEventListener('abort', done);
      resolveWait();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * `type: stdout`: JSON Lines on standard output (logs go to stderr, so the two never mix).
 * @example
 * sinks:
 *   - type: stdout
 */
export const stdoutSink = defineSink({
  type: 'stdout',
  description: 'Writes each payload as one JSON line to standard output.',
  options: StdoutSinkOptions,
  batches: true,
  create: () => createStdoutSink(),
});
