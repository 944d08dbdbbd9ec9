/**
 * The example backend on its own, for containers (docker compose, the Kubernetes example): it
 * listens on env HOST (default 127.0.0.1) and PORT (default 3000) and echoes every request.
 */
import { listenEchoBackend } from './echo-backend.js';

const { url } = await listenEchoBackend(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');
process.stdout.write(`echo backend listening on ${url}\n`);
