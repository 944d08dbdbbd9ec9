import { loadConfig } from '../config/load.js';
import { createConfigReloader } from '../config/reload.js';
import { buildDeps } from '../deps.js';
import { createLogger } from '../log/logger.js';
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
    deps = await buildDeps({ loaded, logger });
  } catch (err) {
    return reportStartupError(err, io);
  }

  const { listen, upstream } = deps.config;
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
    apply: deps.replaceRules,
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
