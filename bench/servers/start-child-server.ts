import { startNode, stopChild, type NodeChild } from '../lib/children.js';
import { waitForPort } from '../lib/rpc.js';

export interface RunningServer {
  readonly name: string;
  readonly url: string;
  readonly child: NodeChild;
}

/** Starts one of the bench's own servers and waits until it listens. */
export async function startChildServer(
  name: string,
  script: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningServer> {
  const child = startNode(name, script, { args, env, ipc: true });
  try {
    const port = await waitForPort(child);
    return { name, url: `http://127.0.0.1:${port}`, child };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}
