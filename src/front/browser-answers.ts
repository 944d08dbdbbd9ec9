/**
 * What a browser gets back that an API client does not: a refused navigation is sent to the
 * sign-in page (or shown a 403 page when signed in), a session cookie due for renewal is renewed,
 * and one whose session is over is cleared. Without browser sign-in, every answer is the problem.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrowserSessions } from '../browser/browser-sessions.js';
import { isBrowserNavigation } from '../browser/navigation.js';
import { forbiddenPage } from '../browser/pages/status-pages.js';
import { sendPage } from '../browser/pages/send-page.js';
import { signInLocation } from '../browser/return-path.js';
import { sendProblem } from '../http/problem.js';
import type { Decision } from '../pipeline/decide.js';

export interface BrowserAnswers {
  /** Answers a refused request: a redirect, a page, or the problem. */
  refuse(
    req: IncomingMessage,
    res: ServerResponse,
    decision: Extract<Decision, { outcome: 'deny' }>,
    requestId: string,
  ): void;
  /** The Set-Cookie field an answer to this decision carries: a renewed or a cleared cookie, if any. */
  cookieFor(decision: Decision): string | undefined;
}

export function createBrowserAnswers(
  browser: BrowserSessions | undefined,
  title: string,
  now: () => number,
): BrowserAnswers {
  if (!browser) {
    return {
      refuse: (_req, res, decision, requestId) => void sendProblem(res, decision.error, requestId),
      cookieFor: () => undefined,
    };
  }
  const { cookie, tickets } = browser;

  const cookieFor = (decision: Decision): string | undefined => {
    const outcome = decision.cookie;
    if (outcome === undefined) return undefined;
    if (outcome.kind === 'ended') return cookie.cleared;
    if (decision.outcome === 'deny' || !tickets.isDueForRenewal(outcome.claims)) return undefined;
    const { claims } = outcome;
    const renewed = tickets.issue({
      ...claims.identity,
      tokenVersion: claims.tokenVersion,
      sessionId: claims.sessionId,
      authTime: claims.authTime,
    });
    return cookie.serialize(renewed.ticket, renewed.expiresAt, now());
  };

  return {
    cookieFor,
    refuse(req, res, decision, requestId) {
      const setCookie = cookieFor(decision);
      if (setCookie !== undefined) res.setHeader('Set-Cookie', setCookie);
      const navigation = isBrowserNavigation(req.method ?? 'GET', req.headers);
      const { status } = decision.error;
      if (navigation && status === 401 && decision.rule?.signIn !== false && decision.path !== undefined) {
        const query = queryOf(req.url);
        res.statusCode = 302;
        res.setHeader('Location', signInLocation(decision.path + query));
        res.setHeader('Cache-Control', 'no-store');
        res.setHeader('Content-Length', 0);
        res.end();
        return;
      }
      if (navigation && status === 403 && decision.identity) {
        const page = forbiddenPage({
          title,
          username: decision.identity.username,
          requiredRoles: decision.requiredRoles ?? [],
        });
        sendPage(res, 403, page);
        return;
      }
      sendProblem(res, decision.error, requestId);
    },
  };
}

/** The query of the request target as received (`?…`), or ''. */
function queryOf(url: string | undefined): string {
  const start = url?.indexOf('?') ?? -1;
  return url === undefined || start === -1 ? '' : url.slice(start);
}
