// Checks an event body against the schema of its eventName; on the ingress hot path, so validators are compiled once here.
import { Compile, type Validator } from 'typebox/compile';
import { Settings } from 'typebox/system';
import type { ValidationIssue } from './record.ts';
import { EVENT_SCHEMAS, GenericEventSchema } from './schemas.ts';
import { DATE_TIME_PATTERN } from './fields.ts';

/** Most issues reported for one event: enough to diagnose it, bounded so a hostile body cannot inflate a quarantine record. */
export const MAX_ISSUES = 20;

const validators: ReadonlyMap<string, Validator> = new Map(
  Object.entries(EVENT_SCHEMAS).map(([name, schema]) => [name, Compile(schema)]),
);
const genericValidator = Compile(GenericEventSchema);

// Shared and frozen: a valid event allocates nothing.
const NO_ISSUES = Object.freeze([]) as unknown as ValidationIssue[];

/**
 * Validate a parsed webhook body (an object with a string `eventName`) against its message schema, or the generic one
 * for eventNames without a spec schema. Returns `[]` (a shared frozen array: do not mutate) when valid, else at most
 * `MAX_ISSUES` issues, one per offending JSON pointer.
 * @example
 * validateEvent({ eventName: 'emailSend', email: 'u@x.com', dataFields: { campaignId: 'x' } })
 * // [{ path: '/dataFields/campaignId', message: 'must be either integer or null' }]
 */
export function validateEvent(body: Record<string, unknown>): ValidationIssue[] {
  const name = body.eventName;
  const validator = (typeof name === 'string' && validators.get(name)) || genericValidator;
  if (validator.Check(body)) return NO_ISSUES;
  return issuesOf(validator, body);
}

/** Run TypeBox's error pass with its global error buffer (8 by default) raised to what we report, then put it back. */
function collectErrors(validator: Validator, body: Record<string, unknown>) {
  const previous = Settings.Get().maxErrors;
  // Synchronous, so nothing else can observe the raised limit. A few extra cover errors merged below (identity rule).
  Settings.Set({ maxErrors: MAX_ISSUES + 4 });
  try {
    return validator.Errors(body);
  } finally {
    Settings.Set({ maxErrors: previous });
  }
}

function issuesOf(validator: Validator, body: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const error of collectErrors(validator, body)) {
    // The identity rule is the only root `anyOf` (email or userId): its branch errors become one issue, in words.
    const identity = error.schemaPath.startsWith('#/anyOf') || (error.instancePath === '' && error.keyword === 'anyOf');
    const path = identity ? '/email' : error.instancePath;
    if (seen.has(path)) continue;
    seen.add(path);
    issues.push({ path, message: identity ? 'must have a string `email` or a `userId`' : messageOf(error) });
    if (issues.length === MAX_ISSUES) break;
  }
  return issues;
}

function messageOf(error: { keyword: string; message: string; params: Record<string, unknown> }): string {
  if (error.keyword === 'pattern' && error.params.pattern === DATE_TIME_PATTERN) {
    return 'must be a date like `2016-12-02 20:21:04 +00:00` or ISO 8601';
  }
  if (error.keyword === 'maxLength' && error.params.limit === 0) return 'must be an integer, an empty string or null';
  return error.message;
}
