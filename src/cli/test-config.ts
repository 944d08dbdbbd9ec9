import { describeMismatch, describePolicyTest, runPolicyTests } from '../pipeline/policy-tests.js';
import { compileRules } from '../pipeline/rules.js';
import { EXIT, writeLine, type CliIo } from './io.js';
import { loadCommandConfig } from './report-config-error.js';

/** `test-config`: runs the config's policy tests and prints one line per test, node-test style. */
export async function testConfig(options: { readonly config?: string }, io: CliIo): Promise<number> {
  const loaded = await loadCommandConfig(options.config, io);
  if (typeof loaded === 'number') return loaded;
  const results = runPolicyTests(compileRules(loaded.config, loaded.ruleLines), loaded.config.tests);
  for (const result of results) {
    const name = `${result.index + 1} - ${describePolicyTest(result.test)}`;
    writeLine(io.stdout, result.passed ? `ok ${name}` : `not ok ${name}: ${describeMismatch(result)}`);
  }
  const failed = results.filter((result) => !result.passed).length;
  writeLine(io.stdout, `${results.length - failed} passed, ${failed} failed`);
  return failed > 0 ? EXIT.failure : EXIT.ok;
}
