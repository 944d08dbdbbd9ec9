import type { IncomingMessage } from 'node:http';
import { noteUser, requestContext } from '../../http/request-context.js';
import type { AuditEvent } from '../../log/audit.js';
import type { AuthDeps } from './deps.js';

/** Records an audit event for a request: tagged with its id, and its user noted for the request log. */
export function auditRequest(deps: AuthDeps, req: IncomingMessage, event: AuditEvent): void {
  if ('userId' in event && event.userId !== undefined) noteUser(req, event.userId);
  deps.audit({ ...event, reqId: requestContext(req)?.id });
}
