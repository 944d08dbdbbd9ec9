import { loadConfig, type LoadedConfig } from '../config/load.js';
import { createConfigReloader } from '../config/reload.js';
import { buildDeps } from '../deps.js';
import { createLogger, type Logger } from '../log/logger.js';
import { policyFailures, runPolicyTests } from '../pipeline/policy-tests.js';
import { compileRules } from '../pipeline/rules.js';
import { isSupportedNode, MIN_NODE } from '../runtime.js';
import { startServer } from '../server.js';
import { EXIT, writeLine, type CliIo } from './io.js';
import { reportStartupError } from './report-config-error.js';

export async function serve(options: { readonly config?: string }, io: CliIo): Promise<number> {
  let deps;
  let logger;
  let loaded;
  try {
    loaded = await loadConfig({ path: options.config, env: io.env });
    const failures = checkPolicy(loaded, loaded.config.match);
    if (failures.length > 0) {
      writeLine(
        io.stderr,
        `auth-sidecar: ${loaded.file}: ${failures.length} policy test${failures.length === 1 ? '' : 's'} failed; the config is refused:`,
      );
      for (const failure of failures) writeLine(io.stderr, `  ${failure}`);
      return EXIT.usage;
    }
    logger = createLogger({ level: loaded.config.log.level });
    if (!isSupportedNode()) {
      logger.warn(
        {
          event: 'runtime.unsupported',
          node: process.versions.node,
          required: `>=${MIN_NODE.major}.${MIN_NODE.minor}`,
        },
        'this Node.js is unsupported (end of life, known request-smuggling flaws); use Node 24 LTS in production',
      );
    }
    logLintWarnings(logger, loaded);
    const { browser } = loaded.config;
    if (browser.enabled && !browser.cookie.secure) {
      logger.warn(
        { event: 'browser.cookie.insecure', cookieName: browser.cookie.name },
        'browser.cookie.secure is false: the session cookie is also sent over plain http, where anyone on the path can read it; only for development on localhost',
      );
    }
    deps = await buildDeps({ loaded, logger });
  } catch (err) {
    return reportStartupError(err, io);
  }

  const { listen, upstream, match } = deps.config;
  let running;
  try {
    running = await startServer(deps, listen);
  } catch (err) {
    writeLine(
      io.stderr,
      `auth-sidecar: cannot listen on ${listen.host}:${listen.port}: ${(err as Error).message}`,
    );
    await deps.close();
    return EXIT.failure;
  }
  logger.info({ event: 'server.listening', url: running.url, upstream: upstream.url }, 'listening');
  const reloader = createConfigReloader({
    path: options.config,
    env: io.env,
    running: loaded,
    apply(next) {
      deps.replaceRules(next);
      logLintWarnings(logger, next);
    },
    // With the running match settings, as replaceRules compiles the new rules.
    verify: (next) => checkPolicy(next, match),
    onResult: deps.metrics.configReloaded,
    logger,
  });
  reloader.watchFile();
  io.onReloadSignal?.(() => void reloader.reload('SIGHUP'));

  const signal = await io.shutdownSignal;
  reloader.close();
  const { delay: delayMs, grace: graceMs } = deps.config.shutdown;
  logger.info({ event: 'server.stopping', signal, delayMs, graceMs }, 'shutting down');
  await running.close({ delayMs, graceMs });
  logger.info({ event: 'server.stopped' }, 'stopped');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  return EXIT.ok;
}

/** The config's policy tests, decided as the proxy would decide them; one line per failure. */
function checkPolicy(loaded: LoadedConfig, match: LoadedConfig['config']['match']): string[] {
  const rules = compileRules({ ...loaded.config, match }, loaded.ruleLines);
  return policyFailures(runPolicyTests(rules, loaded.config.tests));
}

/** Rule-lint warnings, logged once per config that is put in force. */
function logLintWarnings(logger: Logger, loaded: LoadedConfig): void {
  for (const warning of loaded.warnings ?? [])
    logger.warn({ event: 'config.lint', file: loaded.file, warning }, warning);
}
