// `hookroute schema`: prints the event schemas the daemon validates against, as JSON Schema or as an AsyncAPI 2.6 document.
import { stringify } from 'yaml';
import type { TSchema } from 'typebox';
import pkg from '../../package.json' with { type: 'json' };
import { KNOWN_EVENT_NAMES, OTHER_EVENT_LABEL, SPEC_EVENT_NAMES, hasSpecSchema } from '../events/catalog.ts';
import { EVENT_SCHEMAS, GenericEventSchema, MESSAGES } from '../events/schemas.ts';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { silentLogger } from '../log.ts';
import { formatProblem } from '../schema-kit/yaml-source.ts';
import { renderSinkDocs, sinkSchemaDocument } from '../sinks/docs.ts';
import { loadSinkTypes } from '../sinks/registry.ts';

/** Options of `hookroute schema`. */
export interface SchemaOptions {
  /** `json` (default): eventName → JSON Schema. `asyncapi`: an AsyncAPI 2.6 YAML document. `markdown`: with `sinks`. */
  format?: string;
  /** Print the sink types' option schemas instead (built-ins and, with `config`, the plugins of its `plugins.dir`). */
  sinks?: boolean;
  config?: string;
}

/** Key under which the JSON format lists the schema used for every eventName not in the catalog. */
export const ANY_OTHER_EVENT_KEY = '*';

const GENERIC_MESSAGE_KEY = 'OtherEvent';

/** `emailSend` → `EmailSend`: the spec's component names are the eventNames with a capital first letter. */
const componentName = (eventName: string) => eventName[0]!.toUpperCase() + eventName.slice(1);

/** Every catalog eventName mapped to the schema it is validated with, plus `*` for names outside the catalog. */
export function schemaDocument(): Record<string, TSchema> {
  const doc: Record<string, TSchema> = {};
  for (const name of KNOWN_EVENT_NAMES) doc[name] = hasSpecSchema(name) ? EVENT_SCHEMAS[name] : GenericEventSchema;
  doc[ANY_OTHER_EVENT_KEY] = GenericEventSchema;
  return doc;
}

/** What the daemon accepts, as AsyncAPI 2.6: the spec's 20 messages (same names) plus one generic message. */
export function asyncApiDocument(): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const name of SPEC_EVENT_NAMES) {
    const key = componentName(name);
    const { title, summary } = MESSAGES[name];
    messages[key] = {
      name,
      title,
      summary,
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${key}Payload` },
    };
    schemas[`${key}Payload`] = EVENT_SCHEMAS[name];
  }
  const others = KNOWN_EVENT_NAMES.filter((name) => !hasSpecSchema(name));
  messages[GENERIC_MESSAGE_KEY] = {
    name: OTHER_EVENT_LABEL,
    title: 'Other Event',
    summary: `Any other eventName, accepted and routable; known ones: ${others.join(', ')}`,
    contentType: 'application/json',
    payload: { $ref: `#/components/schemas/${GENERIC_MESSAGE_KEY}Payload` },
  };
  schemas[`${GENERIC_MESSAGE_KEY}Payload`] = GenericEventSchema;
  return {
    asyncapi: '2.6.0',
    info: {
      title: 'hookroute: accepted Iterable system webhooks',
      version: pkg.version,
      description:
        'The events hookroute validates. Event fields may sit at the top level or inside dataFields, optional fields may be null, ' +
        'extra fields are allowed, and timestamps use Iterable\'s "2016-12-02 20:21:04 +00:00" or ISO 8601.',
    },
    channels: {
      '/webhook': {
        description: 'The webhook path (server.path in the config). One JSON object per POST.',
        publish: {
          operationId: 'receiveSystemWebhook',
          message: { oneOf: Object.keys(messages).map((key) => ({ $ref: `#/components/messages/${key}` })) },
        },
      },
    },
    components: { messages, schemas },
  };
}

/**
 * Run `hookroute schema`: write the schemas to `out`. Resolves with the exit code (2 for an unknown format).
 * @example await runSchema({ format: 'asyncapi' }, process.stdout) // 0, after printing YAML
 */
export async function runSchema(opts: SchemaOptions, out: NodeJS.WritableStream): Promise<number> {
  const format = opts.format ?? 'json';
  if (opts.sinks) return runSinkSchema(opts, format, out);
  if (format === 'json') {
    out.write(`${JSON.stringify(schemaDocument(), null, 2)}\n`);
    return 0;
  }
  if (format === 'asyncapi') {
    // Schemas share sub-objects: without this, yaml would write anchors and aliases.
    out.write(stringify(asyncApiDocument(), { aliasDuplicateObjects: false, lineWidth: 0 }));
    return 0;
  }
  process.stderr.write(`error: unknown --format "${format}" (json or asyncapi)\n`);
  return 2;
}

/** `hookroute schema --sinks`: the option schemas of every sink type the daemon would load, as JSON or markdown. */
async function runSinkSchema(opts: SchemaOptions, format: string, out: NodeJS.WritableStream): Promise<number> {
  if (format !== 'json' && format !== 'markdown') {
    process.stderr.write(`error: unknown --format "${format}" with --sinks (json or markdown)\n`);
    return 2;
  }
  let config: Config;
  try {
    config = await loadConfig(opts.config !== undefined ? { file: opts.config } : {});
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) process.stderr.write(`${formatProblem(p)}\n`);
    return 1;
  }
  const { registry, problems } = await loadSinkTypes({ pluginsDir: config.plugins.dir, logger: silentLogger });
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  const sinks = registry.types().map((type) => ({ definition: registry.get(type)!, origin: registry.origin(type) }));
  out.write(format === 'markdown' ? renderSinkDocs(sinks) : `${JSON.stringify(sinkSchemaDocument(sinks), null, 2)}\n`);
  return problems.length > 0 ? 1 : 0;
}
