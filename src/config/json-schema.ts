import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { configSchema } from './schema.js';

/**
 * The config's JSON Schema, for editors (yaml-language-server) and other tools, generated from the
 * one config schema. Checks that JSON Schema cannot say (exactly one of public, authenticated or
 * roles; glob shapes) are still made at load.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'auth-sidecar configuration',
  };
}

/** The file's text: stable key order and a trailing newline, so that it diffs cleanly. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

export async function writeConfigJsonSchema(path: string): Promise<void> {
  await writeFile(path, configJsonSchemaText());
}
