// docs/sinks.md, generated from each sink type's option schema and the delivery policy's schemas: no sink is undocumented.
import { BatchSchema, BreakerSchema, QueueSchema, RetrySchema } from '../delivery/policy.ts';
import { referenceTable } from '../schema-kit/schema-docs.ts';
import type { SinkDefinition } from './define.ts';

/** A sink type to document, and where it comes from (`built-in` or a plugin file). */
export interface DocumentedSink {
  definition: SinkDefinition;
  origin: string;
}

/**
 * The markdown reference of `sinks`: the keys every sink entry takes, then one section per type with its options.
 * @example
 * await writeFile('docs/sinks.md', renderSinkDocs(BUILT_IN_SINKS.map((definition) => ({ definition, origin: 'built-in' }))));
 */
export function renderSinkDocs(sinks: readonly DocumentedSink[]): string {
  const lines = [
    '# Sinks reference',
    '',
    "Generated from the sinks' option schemas by `npm run docs` (`hookroute schema --sinks --format markdown` prints",
    'the same for the sink types your `plugins.dir` adds). Change the schemas, not this file.',
    '',
    "Every entry of a pipeline's `sinks:` list takes `type`, an optional `name` (default: the type, numbered if",
    "repeated) and `transform` (JSONata overriding the pipeline's), the delivery policy below, and the options of its type.",
    '',
    '## Delivery policy (every sink)',
    '',
    referenceTable(RetrySchema, 'retry').trimEnd(),
    '',
    referenceTable(QueueSchema, 'queue').trimEnd(),
    '',
    referenceTable(BreakerSchema, 'breaker').trimEnd(),
    '',
    referenceTable(BatchSchema, 'batch').trimEnd(),
    '',
    'Without `batch` each event is sent on its own. A sink type that cannot batch refuses `batch` at `validate`; the built-ins all can.',
  ];
  for (const { definition: d, origin } of [...sinks].sort((a, b) =>
    a.definition.type.localeCompare(b.definition.type),
  )) {
    lines.push('', `## \`${d.type}\``, '');
    if (d.description) lines.push(d.description, '');
    if (origin !== 'built-in') lines.push(`Plugin: \`${origin}\`.`, '');
    const defaults = Object.entries(d.defaults ?? {}).map(([k, v]) => `\`queue.${k}: ${v}\``);
    if (defaults.length > 0) lines.push(`Defaults for this type: ${defaults.join(', ')}.`, '');
    if (d.batches !== true) lines.push('Cannot batch: `batch` is refused.', '');
    const options = (d.options as { properties?: object }).properties;
    lines.push(
      options && Object.keys(options).length > 0 ? referenceTable(d.options).trimEnd() : 'This type takes no options.',
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Each sink type's option schema as JSON Schema, keyed by type, for editors and plugin authors.
 * @example
 * sinkSchemaDocument(sinks).http // { type: 'object', properties: { url: ... } }
 */
export function sinkSchemaDocument(sinks: readonly DocumentedSink[]): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  for (const { definition } of sinks) doc[definition.type] = definition.options;
  return doc;
}
