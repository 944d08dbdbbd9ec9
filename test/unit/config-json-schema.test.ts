import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/json-schema.js';
import { REPO_ROOT } from '../helpers/cli-process.js';

const SCHEMA_FILE = join(REPO_ROOT, 'config', 'auth-sidecar.schema.json');
const EXAMPLE_CONFIG = join(REPO_ROOT, 'config', 'auth-sidecar.yaml');

describe('config JSON Schema', () => {
  it('config/auth-sidecar.schema.json is what the config schema generates (npm run config-schema)', async () => {
    assert.equal(await readFile(SCHEMA_FILE, 'utf8'), configJsonSchemaText());
  });

  it('names every top-level key the sidecar reads, refuses unknown ones and carries the defaults', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { properties?: Record<string, { default?: unknown }> }>;
      additionalProperties: boolean;
    };
    assert.equal(schema.additionalProperties, false);
    for (const key of ['listen', 'upstream', 'store', 'tokens', 'passwords', 'rules', 'limits', 'metrics']) {
      assert.ok(key in schema.properties, key);
    }
    assert.equal(schema.properties.listen?.properties?.port?.default, 8080);
  });

  it('is named by the example config for editor completion', async () => {
    const text = await readFile(EXAMPLE_CONFIG, 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\.\/auth-sidecar\.schema\.json$/m);
    assert.ok(parse(text));
  });
});
