// Baseline `durable-ceiling`: the most a durable receiver can do here (bare uWS, JSON.parse, group-commit fdatasync, 200).
// Bodies that arrive while one writev + fdatasync is running form the next batch; each waits for the sync that covers it.
import { fdatasync, openSync, writev } from 'node:fs';
import { join } from 'node:path';
import uWS from 'uWebSockets.js';

const MAX_BODY = 1 << 20;
const outDir = process.env.OUT_DIR;
if (!outDir) throw new Error('OUT_DIR must name the folder for the journal file');
const fd = openSync(join(outDir, 'durable.log'), 'a');
const app = uWS.App();

interface Pending {
  res: uWS.HttpResponse;
  aborted: boolean;
}

let queuedBodies: Buffer[] = [];
let queuedWaiters: Pending[] = [];
let syncing = false;

/** One writev + one fdatasync for everything queued; answers that batch, then starts the next if more arrived. */
function commit(): void {
  if (syncing || queuedBodies.length === 0) return;
  syncing = true;
  const bodies = queuedBodies;
  const waiters = queuedWaiters;
  queuedBodies = [];
  queuedWaiters = [];
  writev(fd, bodies, (werr) => {
    if (werr) return answer(waiters, '500 Internal Server Error');
    fdatasync(fd, (serr) => answer(waiters, serr ? '500 Internal Server Error' : '200 OK'));
  });
}

function answer(waiters: Pending[], status: string): void {
  for (const w of waiters) {
    if (w.aborted) continue;
    w.res.cork(() => w.res.writeStatus(status).writeHeader('content-type', 'application/json').end('{"ok":true}'));
  }
  syncing = false;
  commit();
}

app.post('/*', (res) => {
  const pending: Pending = { res, aborted: false };
  let chunks: Buffer[] = [];
  let size = 0;
  res.onAborted(() => {
    pending.aborted = true;
  });
  res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    if (size > MAX_BODY) {
      chunks = [];
      if (!pending.aborted) res.cork(() => res.writeStatus('413 Payload Too Large').end());
      pending.aborted = true;
      return;
    }
    if (pending.aborted) return;
    // uWS reuses the chunk's memory after this callback, and the body outlives it (it goes to disk): copy.
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      res.cork(() => res.writeStatus('400 Bad Request').end());
      return;
    }
    queuedBodies.push(body, Buffer.from('\n'));
    queuedWaiters.push(pending);
    commit();
  });
});

app.listen('127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
  if (!socket) {
    process.stderr.write('{"msg":"listen failed"}\n');
    process.exit(1);
  }
  process.stderr.write(
    `${JSON.stringify({ msg: 'durable-ceiling listening', port: uWS.us_socket_local_port(socket) })}\n`,
  );
  process.on('SIGTERM', () => {
    uWS.us_listen_socket_close(socket);
    process.exit(0);
  });
});
