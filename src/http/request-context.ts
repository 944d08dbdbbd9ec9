import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import { resolveRequestId } from './request-id.js';

/** What the request log line reports, filled in by the stages as the request goes. */
export interface RequestContext {
  readonly id: string;
  readonly startedAt: number;
  path?: string;
  rule?: string;
  decision?: 'allow' | 'deny';
  reason?: string;
  userId?: string;
}

const contexts = new WeakMap<IncomingMessage, RequestContext>();

/** The request id and the log line every request gets, before any other stage runs. */
export function beginRequest(
  req: IncomingMessage,
  res: ServerResponse,
  logger: Logger,
  onFinished?: (status: number) => void,
): RequestContext {
  const context: RequestContext = {
    id: resolveRequestId(req.headers['x-request-id']),
    startedAt: performance.now(),
  };
  contexts.set(req, context);
  req.headers['x-request-id'] = context.id;
  res.setHeader('X-Request-Id', context.id);
  res.once('close', () => {
    onFinished?.(res.statusCode);
    logger.info(
      {
        reqId: context.id,
        method: req.method,
        path: context.path,
        status: res.statusCode,
        rule: context.rule,
        decision: context.decision,
        reason: context.reason,
        userId: context.userId,
        durationMs: Math.round((performance.now() - context.startedAt) * 100) / 100,
        ...(res.writableFinished ? {} : { aborted: true }),
      },
      'request',
    );
  });
  return context;
}

/** The context `beginRequest` made for this request. */
export function requestContext(req: IncomingMessage): RequestContext | undefined {
  return contexts.get(req);
}

/** Records who the request turned out to be, for its log line. */
export function noteUser(req: IncomingMessage, userId: string): void {
  const context = contexts.get(req);
  if (context) context.userId = userId;
}
