import { withoutRedaction, type Logger } from './logger.js';

/** Audit events: the `event` name is stable; fields carry ids, never secrets. */
export type AuditEvent =
  | { readonly event: 'auth.register'; readonly userId: string; readonly username: string }
  | { readonly event: 'auth.login.success'; readonly userId: string; readonly username: string }
  | {
      readonly event: 'auth.login.failure';
      /** Null when the field is not a valid username (it may hold a password typed there). */
      readonly username: string | null;
      readonly reason: 'invalid_credentials' | 'invalid_username';
    }
  | { readonly event: 'auth.refresh'; readonly userId: string; readonly familyId: string }
  | { readonly event: 'auth.refresh.failure'; readonly reason: string }
  | { readonly event: 'auth.refresh.reuse_detected'; readonly userId: string; readonly familyId: string }
  | { readonly event: 'auth.logout'; readonly userId: string; readonly revokedRefreshToken: boolean }
  | { readonly event: 'auth.password.change'; readonly userId: string }
  | { readonly event: 'auth.session.start'; readonly userId: string; readonly sessionId: string }
  | {
      readonly event: 'auth.session.end';
      readonly reason: 'sign_out' | 'idle' | 'expired' | 'revoked';
      readonly userId: string;
      /** Absent when every session of the user ended (sign out everywhere). */
      readonly sessionId?: string;
      readonly everywhere?: boolean;
    }
  | { readonly event: 'auth.password.failure'; readonly userId: string }
  | {
      readonly event: 'auth.user.update';
      readonly userId: string;
      readonly targetUserId: string;
      readonly roles?: readonly string[];
      readonly disabled?: boolean;
    }
  | { readonly event: 'auth.user.delete'; readonly userId: string; readonly targetUserId: string }
  | {
      readonly event: 'auth.denied';
      readonly rule?: string;
      readonly reason: string;
      readonly method?: string;
      readonly path?: string;
      readonly userId?: string;
    };

export type Audit = (event: AuditEvent & { readonly reqId?: string }) => void;

/** Logs each event; `onEvent` is told its name too (for metrics). */
export function createAudit(logger: Logger, onEvent?: (event: AuditEvent['event']) => void): Audit {
  // Events are typed and carry no secrets, so they skip the redaction safety net.
  const auditLog = withoutRedaction(logger);
  return (event) => {
    const level = event.event === 'auth.refresh.reuse_detected' ? 'warn' : 'info';
    auditLog[level](event, event.event);
    onEvent?.(event.event);
  };
}
