// Baseline `naive`: what a user would hand-write (Fastify, the route transform in JSONata, one appending write stream).
// Deliberately unsafe: no validation, no fsync, so it is faster than a correct receiver should be.
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import jsonata from 'jsonata';
import { NAIVE_TRANSFORM } from '../harness/pipeline-files.ts';

const outDir = process.env.OUT_DIR;
if (!outDir) throw new Error('OUT_DIR must name the folder for the output file');
const out = createWriteStream(join(outDir, 'naive.jsonl'), { flags: 'a' });
const transform = jsonata(NAIVE_TRANSFORM);
const app = Fastify({ logger: false, bodyLimit: 1 << 20 });

app.post('/webhook', async (req, reply) => {
  const payload = await transform.evaluate(req.body);
  out.write(`${JSON.stringify(payload)}\n`);
  return reply.code(200).send({ ok: true });
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stderr.write(`${JSON.stringify({ msg: 'naive listening', port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => out.end(() => process.exit(0)));
});
