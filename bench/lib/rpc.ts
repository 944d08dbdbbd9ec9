/**
 * Jobs over the IPC channel of a child process: the parent sends `{ id, job }`, the child answers
 * `{ id, result }` or `{ id, error }`. Both ends are bench scripts, so the shapes are trusted.
 */
import { exitError, type NodeChild } from './children.js';

interface JobMessage {
  readonly id: number;
  readonly job: unknown;
}

interface ReplyMessage {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
}

interface ReadyMessage {
  readonly ready: true;
  readonly port: number;
}

let nextId = 1;

/** Parent side: sends one job and waits for its reply. */
export function callChild<Result>(child: NodeChild, job: unknown): Promise<Result> {
  const id = nextId++;
  return new Promise<Result>((resolve, reject) => {
    const onMessage = (message: ReplyMessage): void => {
      if (message.id !== id) return;
      cleanUp();
      if (message.error !== undefined) reject(new Error(`${child.name}: ${message.error}`));
      else resolve(message.result as Result);
    };
    const onExit = (): void => {
      cleanUp();
      reject(exitError(child, 'during a job'));
    };
    const cleanUp = (): void => {
      child.process.off('message', onMessage);
      child.process.off('exit', onExit);
    };
    child.process.on('message', onMessage);
    child.process.once('exit', onExit);
    child.process.send({ id, job } satisfies JobMessage);
  });
}

/** Parent side: waits for a server child to say which port it listens on. */
export function waitForPort(child: NodeChild): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onMessage = (message: Partial<ReadyMessage>): void => {
      if (message.ready !== true || typeof message.port !== 'number') return;
      child.process.off('exit', onExit);
      resolve(message.port);
    };
    const onExit = (): void => reject(exitError(child, 'before it was ready'));
    child.process.once('message', onMessage);
    child.process.once('exit', onExit);
  });
}

/** Child side: a child whose parent is gone has nobody to report to. */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(0));
}

/** Child side: tells the parent the port this server listens on. */
export function announcePort(port: number): void {
  exitWithParent();
  process.send?.({ ready: true, port } satisfies ReadyMessage);
}

/** Child side: answers every job with `handler`, one reply per job. */
export function serveJobs<Job>(handler: (job: Job) => Promise<unknown>): void {
  exitWithParent();
  process.on('message', (message: JobMessage) => {
    handler(message.job as Job).then(
      (result) => process.send?.({ id: message.id, result } satisfies ReplyMessage),
      (err: unknown) =>
        process.send?.({
          id: message.id,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        } satisfies ReplyMessage),
    );
  });
}
