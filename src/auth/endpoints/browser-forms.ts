/**
 * What the sign-in pages share: reading a form field, the cross-site check of a form POST, and
 * turning a refusal of the auth core (wrong password, 429, queue full, policy) into a page.
 */
import type { Request, Response } from 'express';
import { errorPage } from '../../browser/pages/status-pages.js';
import { sendPage } from '../../browser/pages/send-page.js';
import { ProblemError } from '../../errors.js';
import { asProblem } from '../../http/problem.js';
import { requestContext } from '../../http/request-context.js';
import type { BrowserContext } from './browser-session.js';

/** A text field of a form body: '' when absent; a field sent twice is a 400, never one of the two. */
export function formField(req: Request, name: string): string {
  const value: unknown = (req.body as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return '';
  if (typeof value !== 'string' || value.length > 1024) {
    throw new ProblemError(
      'invalid_request',
      `The form field ${name} was sent more than once or is too long.`,
    );
  }
  return value;
}

/**
 * True, after answering 403, when a form was posted from another site: the sidecar's own forms
 * take no login, sign-out or password change made on another page's behalf.
 */
export function refusedAsCrossSite(deps: BrowserContext, req: Request, res: Response): boolean {
  if (!deps.browser.isCrossOrigin(req)) return false;
  deps.audit({
    event: 'auth.denied',
    reqId: requestContext(req)?.id,
    reason: 'cross_origin',
    method: req.method,
    path: req.originalUrl.split('?')[0],
  });
  sendPage(
    res,
    403,
    errorPage({
      title: deps.config.browser.title,
      heading: 'Sent from another site',
      message: 'This form was sent from another site, so it was not accepted. Use the form on this site.',
      link: { href: '/auth/sign-in', text: 'Go to sign in' },
    }),
  );
  return true;
}

/** A refusal to show on the form again; anything else is thrown on, to the problem handler. */
export interface FormRefusal {
  readonly status: number;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly code: ProblemError['code'];
}

export function formRefusalOf(err: unknown): FormRefusal {
  const problem = asProblem(err);
  if (
    !(problem instanceof ProblemError) ||
    (problem.status >= 500 && problem.code !== 'server_busy' && problem.code !== 'store_unavailable')
  ) {
    throw err;
  }
  const retryAfter = problem.headers['Retry-After'];
  const wait = retryAfter === undefined ? '' : ` Try again in ${describeSeconds(Number(retryAfter))}.`;
  const message =
    problem.code === 'too_many_requests'
      ? `Too many attempts.${wait}`
      : problem.code === 'server_busy' || problem.code === 'store_unavailable'
        ? `The server is busy.${wait || ' Try again shortly.'}`
        : problem.detail;
  return {
    status: problem.status,
    message,
    headers: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
    code: problem.code,
  };
}

function describeSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 1) return 'a second';
  if (seconds < 90) return `${Math.ceil(seconds)} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** A 303 to `location` (a relative path), with cookies set before kept. */
export function seeOther(res: Response, location: string, setCookie?: string): void {
  if (setCookie !== undefined) res.setHeader('Set-Cookie', setCookie);
  res.status(303).set({ Location: location, 'Cache-Control': 'no-store' }).end();
}
