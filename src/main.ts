#!/usr/bin/env node
/** The auth-sidecar executable; the only module that exits the process. */
import { once } from 'node:events';
import nodeModule from 'node:module';

// Compiled code is cached on disk (os.tmpdir() unless NODE_COMPILE_CACHE says otherwise), which
// takes about a quarter off start-up; the modules are therefore loaded only after this call.
// Node 20 has no compile cache (and no such export): there it is simply skipped.
nodeModule.enableCompileCache?.();
const { runCli } = await import('./cli/run.js');

const shutdownSignal = Promise.race([
  once(process, 'SIGTERM').then(() => 'SIGTERM'),
  once(process, 'SIGINT').then(() => 'SIGINT'),
]);

try {
  const code = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    shutdownSignal,
    onReloadSignal: (listener) => process.on('SIGHUP', listener),
  });
  process.exit(code);
} catch (err) {
  process.stderr.write(
    `auth-sidecar: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
