// Baseline `ceiling`: the fastest a Node HTTP receiver can be here (bare uWebSockets.js: read body, JSON.parse, 200).
import uWS from 'uWebSockets.js';

const MAX_BODY = 1 << 20;
const app = uWS.App();

app.post('/*', (res) => {
  let aborted = false;
  let chunks: Buffer[] = [];
  let size = 0;
  res.onAborted(() => {
    aborted = true;
  });
  res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    if (size > MAX_BODY) {
      chunks = [];
      if (!aborted) res.cork(() => res.writeStatus('413 Payload Too Large').end());
      aborted = true;
      return;
    }
    if (aborted) return;
    if (!isLast) {
      // uWS reuses the chunk's memory after this callback returns, so keep a copy.
      chunks.push(Buffer.from(chunk.slice(0)));
      return;
    }
    // The last (usually only) chunk is parsed inside the callback, where its memory is still valid: no copy.
    const last = Buffer.from(chunk);
    let status = '200 OK';
    try {
      JSON.parse((chunks.length ? Buffer.concat([...chunks, last]) : last).toString('utf8'));
    } catch {
      status = '400 Bad Request';
    }
    res.cork(() => res.writeStatus(status).writeHeader('content-type', 'application/json').end('{"ok":true}'));
  });
});

app.listen('127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
  if (!socket) {
    process.stderr.write('{"msg":"listen failed"}\n');
    process.exit(1);
  }
  process.stderr.write(`${JSON.stringify({ msg: 'ceiling listening', port: uWS.us_socket_local_port(socket) })}\n`);
  process.on('SIGTERM', () => {
    uWS.us_listen_socket_close(socket);
    process.exit(0);
  });
});
