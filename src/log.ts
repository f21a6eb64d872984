// The daemon's logger: pino JSON lines on stderr (stdout belongs to the stdout sink), or pino-pretty for humans.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Paths redacted wherever they appear in a log object: secrets never reach a log line. */
const REDACT = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'signingKey',
  '*.signingKey',
  'webhookUrl',
  '*.webhookUrl',
  'headers',
  '*.headers',
];

/** Create the root logger, writing to file descriptor `fd` (stderr by default). */
export function createLogger(opts: { level: string; format: 'json' | 'pretty' }, fd = 2): Logger {
  const base = { level: opts.level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } };
  if (opts.format === 'pretty') {
    // In-process stream rather than a worker transport: works the same in the one-file build.
    return pino(base, pretty({ destination: fd, colorize: false, sync: false }));
  }
  return pino(base, pino.destination({ dest: fd, sync: false }));
}

/** A logger that drops everything (tests, CLI commands that print their own output). */
export const silentLogger: Logger = pino({ level: 'silent' });
