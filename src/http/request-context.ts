import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import { resolveRequestId } from './request-id.js';

/** What the request log line reports, filled in by the stages as the request goes. */
export interface RequestContext {
  readonly id: string;
  readonly startedAt: number;
  /** Set for a protocol upgrade, whose answer is written on the socket, not through a response. */
  readonly upgrade?: 'websocket';
  path?: string;
  rule?: string;
  decision?: 'allow' | 'deny';
  reason?: string;
  userId?: string;
}

/** Writes the request line once the answer is known, and tells `onFinished` its status. */
export type FinishRequest = (status: number, aborted?: boolean) => void;

const contexts = new WeakMap<IncomingMessage, RequestContext>();

/** The request id and the log line every request gets, before any other stage runs. */
export function beginRequest(
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  onFinished: (status: number) => void,
): RequestContext {
  const context = startContext(req, undefined);
  res.setHeader('X-Request-Id', context.id);
  res.once('close', () =>
    writeRequestLine(req, context, logger, onFinished, res.statusCode, !res.writableFinished),
  );
  return context;
}

/**
 * The same for a protocol upgrade: there is no response object, so the way in calls `finish` with
 * the status it wrote on the socket (101, or the refusal's).
 */
export function beginUpgrade(
  req: IncomingMessage,
  logger: Logger,
  onFinished: (status: number) => void,
): { readonly context: RequestContext; readonly finish: FinishRequest } {
  const context = startContext(req, 'websocket');
  const finish: FinishRequest = (status, aborted) =>
    writeRequestLine(req, context, logger, onFinished, status, aborted);
  return { context, finish };
}

function startContext(req: IncomingMessage, upgrade: 'websocket' | undefined): RequestContext {
  const context: RequestContext = {
    id: resolveRequestId(req.headers['x-request-id']),
    startedAt: performance.now(),
    upgrade,
  };
  contexts.set(req, context);
  req.headers['x-request-id'] = context.id;
  return context;
}

function writeRequestLine(
  req: IncomingMessage,
  context: RequestContext,
  logger: Logger,
  onFinished: (status: number) => void,
  status: number,
  aborted: boolean | undefined,
): void {
  onFinished(status);
  logger.info(
    {
      reqId: context.id,
      method: req.method,
      // Fields left undefined are not written.
      upgrade: context.upgrade,
      path: context.path,
      status,
      rule: context.rule,
      decision: context.decision,
      reason: context.reason,
      userId: context.userId,
      durationMs: Math.round((performance.now() - context.startedAt) * 100) / 100,
      aborted: aborted === true ? true : undefined,
    },
    'request',
  );
}

/** The context `beginRequest` or `beginUpgrade` made for this request. */
export function requestContext(req: IncomingMessage): RequestContext | undefined {
  return contexts.get(req);
}

/** Records who the request turned out to be, for its log line. */
export function noteUser(req: IncomingMessage, userId: string): void {
  const context = contexts.get(req);
  if (context) context.userId = userId;
}
