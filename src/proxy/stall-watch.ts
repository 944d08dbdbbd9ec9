/**
 * Watches on the two directions of an exchange that a slow client can stretch while the sidecar
 * holds a backend connection for it: the request body it sends and the response it reads. Each
 * costs one timer, re-armed at most once per window, and two listeners.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

/** Stops a watch; safe to call more than once. */
export type StopWatch = () => void;

/**
 * Calls `onTooSlow` when a window of `windowMs` in which the sidecar was reading the body brought
 * fewer than `minBytesPerSecond` bytes a second. Time the sidecar spent not reading (the backend
 * not taking the body: backpressure) is not counted against the client. Measured on the socket,
 * so that no `data` listener changes how the body flows.
 */
export function watchBody(
  req: IncomingMessage,
  windowMs: number,
  minBytesPerSecond: number,
  onTooSlow: () => void,
): StopWatch {
  const socket = req.socket;
  let base = socket.bytesRead;
  let windowStart = performance.now();
  let pausedAt: number | undefined = req.readableFlowing === false ? windowStart : undefined;
  let pausedMs = 0;
  const onPause = () => {
    pausedAt ??= performance.now();
  };
  const onResume = () => {
    if (pausedAt === undefined) return;
    pausedMs += performance.now() - pausedAt;
    pausedAt = undefined;
  };
  const check = () => {
    if (req.complete) {
      stop();
      return;
    }
    const now = performance.now();
    const readingMs = now - windowStart - pausedMs - (pausedAt === undefined ? 0 : now - pausedAt);
    const arrived = socket.bytesRead - base;
    if (arrived < (minBytesPerSecond * readingMs) / 1000) {
      stop();
      onTooSlow();
      return;
    }
    base = socket.bytesRead;
    windowStart = now;
    pausedMs = 0;
    if (pausedAt !== undefined) pausedAt = now;
    timer.refresh();
  };
  const timer = setTimeout(check, windowMs);
  req.on('pause', onPause);
  req.on('resume', onResume);
  const stop = () => {
    clearTimeout(timer);
    req.off('pause', onPause);
    req.off('resume', onResume);
  };
  return stop;
}

/**
 * Calls `onStalled` when `source`, piped to a client, has stayed paused for `timeoutMs` at a
 * stretch: the client took none of the response while the sidecar's buffer for it was full.
 */
export function watchSend(source: Readable, timeoutMs: number, onStalled: () => void): StopWatch {
  let blockedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    if (blockedAt === undefined) return;
    const left = timeoutMs - (performance.now() - blockedAt);
    if (left > 0) {
      timer = setTimeout(check, left);
      return;
    }
    stop();
    onStalled();
  };
  const onPause = () => {
    blockedAt ??= performance.now();
    timer ??= setTimeout(check, timeoutMs);
  };
  const onResume = () => {
    blockedAt = undefined;
  };
  source.on('pause', onPause);
  source.on('resume', onResume);
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
    source.off('pause', onPause);
    source.off('resume', onResume);
  };
  return stop;
}
