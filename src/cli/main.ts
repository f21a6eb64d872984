// The `hookroute` command line: parses arguments with commander and hands each command to its own module.
import { Command, CommanderError, Option } from 'commander';
import pkg from '../../package.json' with { type: 'json' };

/** Exit codes: 0 ok, 1 problem found, 2 usage error. */
export const EXIT = { OK: 0, PROBLEM: 1, USAGE: 2 } as const;

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new CommanderError(EXIT.USAGE, 'hookroute.invalidArgument', `${name} must be a whole number, got "${v}"`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new CommanderError(EXIT.USAGE, 'hookroute.invalidArgument', `${name} must be a number, got "${v}"`);
  return n;
};

function buildProgram(setCode: (p: Promise<number>) => void): Command {
  const program = new Command('hookroute')
    .description(
      'Receive Iterable system webhooks, validate them, route them through YAML pipelines and deliver them reliably.',
    )
    .version(pkg.version)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const configOpt = () =>
    new Option('-c, --config <file>', 'config file (default: ./config.yaml, else built-in defaults)');

  program
    .command('start')
    .description('run the daemon')
    .addOption(configOpt())
    .action(async (o: { config?: string }) => setCode((await import('./start.ts')).runStart({ config: o.config })));

  program
    .command('validate')
    .description('check config, pipelines, plugins and JSONata; prints file:line:col: message per problem')
    .addOption(configOpt())
    .action(async (o: { config?: string }) =>
      setCode((await import('./validate.ts')).runValidate({ config: o.config }, process.stdout, process.stderr)),
    );

  program
    .command('test')
    .description('run pipeline tests (*.test.yaml): event in, expected sink payloads out')
    .addOption(configOpt())
    .argument('[paths...]', 'test files or folders (default: the pipelines folder)')
    .action(async (paths: string[], o: { config?: string }) =>
      setCode((await import('./test.ts')).runTest({ config: o.config, paths }, process.stdout, process.stderr)),
    );

  const dlq = program.command('dlq').description('inspect and replay the dead-letter queue');
  for (const action of ['list', 'replay'] as const) {
    dlq
      .command(action)
      .description(
        action === 'list'
          ? 'show dead letters (count, last error) by pipeline and sink'
          : 're-enqueue dead letters for delivery',
      )
      .addOption(configOpt())
      .option('--pipeline <name>', 'only this pipeline')
      .option('--sink <id>', 'only this sink')
      .option('--json', 'machine-readable output')
      .action(async (o: { config?: string; pipeline?: string; sink?: string; json?: boolean }) =>
        setCode((await import('./dlq.ts')).runDlq(action, o, process.stdout, process.stderr)),
      );
  }

  program
    .command('send')
    .description('post realistic sample Iterable events (demo, smoke test, load)')
    .option('--url <url>', 'webhook URL', 'http://127.0.0.1:8080/webhook')
    .option('--event <name>', 'eventName to send, or "all" for every known one', 'all')
    .option('--count <n>', 'requests to send (default: one per event type for "all", else 1)', int('--count'))
    .option('--rate <r>', 'requests per second (default: as fast as --concurrency allows)', num('--rate'))
    .option('--concurrency <n>', 'requests in flight at once', int('--concurrency'), 16)
    .option('--auth-basic <user:pass>', 'send HTTP Basic credentials')
    .option('--auth-token <token>', 'send Authorization: Bearer <token>')
    .option('--oauth2 <id:secret>', 'fetch a token from <origin>/oauth/token and send it')
    .option('--header <k:v...>', 'extra header(s)')
    .option('--invalid', 'send events with a wrong-typed field')
    .option('--timeout <ms>', 'per-request timeout in ms', int('--timeout'), 10_000)
    .action(async (o: Record<string, unknown>) =>
      setCode((await import('./send.ts')).runSend(o as never, process.stdout)),
    );

  program
    .command('schema')
    .description('print the schemas the daemon validates against')
    .addOption(new Option('--format <format>', 'json or asyncapi (with --sinks: json or markdown)').default('json'))
    .option('--sinks', "the sink types' option schemas (built-ins and plugins) instead of the event schemas")
    .addOption(configOpt())
    .action(async (o: { format?: string; sinks?: boolean; config?: string }) =>
      setCode((await import('./schema.ts')).runSchema(o, process.stdout)),
    );

  for (const cmd of [program, ...program.commands, ...dlq.commands]) cmd.exitOverride();
  return program;
}

/** Run the CLI with `argv` (without node and script). Resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // `hookroute schema | head`: a closed stdout ends the command quietly instead of crashing it. (The daemon's stdout sink has its own handler.)
  if (argv[0] !== 'start')
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  let code: Promise<number> = Promise.resolve(EXIT.OK);
  const program = buildProgram((p) => (code = p));
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return await code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
      if (err.code === 'hookroute.invalidArgument') process.stderr.write(`error: ${err.message}\n`);
      return EXIT.USAGE;
    }
    process.stderr.write(`hookroute: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.PROBLEM;
  }
}
