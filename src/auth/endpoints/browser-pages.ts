/**
 * The sign-in pages under /auth/: sign in, sign up, the account page (password change), sign out.
 * Server-rendered forms that work without JavaScript, posted same-origin, with the same brute-force
 * limits, bcrypt queue and store steps as the JSON endpoints.
 */
import express, { type Request, type Response } from 'express';
import { accountPage } from '../../browser/pages/account-page.js';
import { sendPage, sendStylesheet } from '../../browser/pages/send-page.js';
import { signInPage } from '../../browser/pages/sign-in-page.js';
import { signOutConfirmPage } from '../../browser/pages/sign-out-page.js';
import { signUpPage } from '../../browser/pages/sign-up-page.js';
import { errorPage } from '../../browser/pages/status-pages.js';
import { STYLESHEET_PATH } from '../../browser/pages/stylesheet.js';
import { safeReturnPath } from '../../browser/return-path.js';
import { MAX_PASSWORD_BYTES } from '../passwords/password-hasher.js';
import { formField, formRefusalOf, refusedAsCrossSite, seeOther } from './browser-forms.js';
import {
  browserSessionOf,
  endBrowserSession,
  startBrowserSession,
  type BrowserContext,
} from './browser-session.js';
import { checkPassword, refuseCredentialsInUrl, rehashIfNeeded } from './login.js';
import { changePassword } from './password-change.js';
import { registerUser } from './register.js';

const formBody = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 16 });

/** Mounts the pages on `router` (the /auth router). */
export function mountBrowserPages(router: express.Router, deps: BrowserContext): void {
  const { title } = deps.config.browser;
  const registrationOpen = deps.config.registration.enabled;
  const policy = { minLength: deps.config.passwords.minLength, maxBytes: MAX_PASSWORD_BYTES };

  const showSignIn = (
    res: Response,
    status: number,
    options: { returnPath: string; username?: string; message?: string },
    headers = {},
  ) => sendPage(res, status, signInPage({ title, signUpAvailable: registrationOpen, ...options }), headers);

  router.get(STYLESHEET_PATH.slice('/auth'.length), (_req, res) => sendStylesheet(res));

  router.get('/sign-in', (req, res) => {
    const returnPath = safeReturnPath(req.query.rd);
    if (browserSessionOf(deps, req)) return seeOther(res, returnPath);
    showSignIn(res, 200, { returnPath });
  });
  router.post('/sign-in', formBody, async (req, res) => {
    if (refusedAsCrossSite(deps, req, res)) return;
    refuseCredentialsInUrl(req.originalUrl);
    const returnPath = safeReturnPath(formField(req, 'rd'));
    const username = formField(req, 'username');
    if (username === '' || formField(req, 'password') === '') {
      return showSignIn(res, 400, { returnPath, username, message: 'Enter your username and password.' });
    }
    try {
      const { user, client } = await checkPassword(deps, req, res, { username });
      const setCookie = await startBrowserSession(deps, req, user);
      await endEarlierSession(req);
      await rehashIfNeeded(deps, user, formField(req, 'password'), client);
      seeOther(res, returnPath, setCookie);
    } catch (err) {
      const refusal = formRefusalOf(err);
      showSignIn(res, refusal.status, { returnPath, username, message: refusal.message }, refusal.headers);
    }
  });

  router.get('/sign-up', (req, res) => {
    if (!registrationOpen) return sendPage(res, 404, registrationClosed());
    sendPage(
      res,
      200,
      signUpPage({ title, returnPath: safeReturnPath(req.query.rd), passwordPolicy: policy }),
    );
  });
  router.post('/sign-up', formBody, async (req, res) => {
    if (refusedAsCrossSite(deps, req, res)) return;
    if (!registrationOpen) return sendPage(res, 403, registrationClosed());
    const returnPath = safeReturnPath(formField(req, 'rd'));
    const username = formField(req, 'username');
    try {
      const password = formField(req, 'password');
      const user = await registerUser(deps, req, () => ({ username, password }));
      const setCookie = await startBrowserSession(deps, req, user);
      await endEarlierSession(req);
      seeOther(res, returnPath, setCookie);
    } catch (err) {
      const refusal = formRefusalOf(err);
      const onPassword = refusal.code === 'invalid_request' && !refusal.message.startsWith('username');
      sendPage(
        res,
        refusal.status,
        signUpPage({
          title,
          returnPath,
          username,
          message: refusal.message,
          messageField: onPassword ? 'password' : 'username',
          passwordPolicy: policy,
        }),
        refusal.headers,
      );
    }
  });

  router.get('/account', async (req, res) => {
    const session = browserSessionOf(deps, req);
    if (!session) return seeOther(res, '/auth/sign-in?rd=%2Fauth%2Faccount');
    const user = await deps.store.users.findById(session.identity.id);
    if (!user) return seeOther(res, '/auth/sign-in');
    const notice =
      req.query.changed === '1'
        ? 'Your password has been changed. Other sessions have been signed out.'
        : undefined;
    sendPage(
      res,
      200,
      accountPage({
        title,
        username: user.username,
        roles: user.roles,
        passwordPolicy: policy,
        ...(notice && { notice }),
      }),
    );
  });
  router.post('/account/password', formBody, async (req, res) => {
    if (refusedAsCrossSite(deps, req, res)) return;
    const session = browserSessionOf(deps, req);
    if (!session) return seeOther(res, '/auth/sign-in?rd=%2Fauth%2Faccount');
    const user = await deps.store.users.findById(session.identity.id);
    if (!user) return seeOther(res, '/auth/sign-in');
    try {
      const body = {
        currentPassword: formField(req, 'currentPassword'),
        newPassword: formField(req, 'newPassword'),
      };
      const updated = await changePassword(deps, req, user, body);
      // Every session of the user ended with the change; this browser goes on in a new one.
      seeOther(res, '/auth/account?changed=1', await startBrowserSession(deps, req, updated));
    } catch (err) {
      const refusal = formRefusalOf(err);
      sendPage(
        res,
        refusal.status,
        accountPage({
          title,
          username: user.username,
          roles: user.roles,
          message: refusal.message,
          messageField: refusal.code === 'invalid_request' ? 'newPassword' : 'currentPassword',
          passwordPolicy: policy,
        }),
        refusal.headers,
      );
    }
  });

  // A GET never signs out: a link or an image on another page could send one.
  router.get('/sign-out', (req, res) => {
    const session = browserSessionOf(deps, req);
    sendPage(
      res,
      200,
      signOutConfirmPage({ title, ...(session && { username: session.identity.username }) }),
    );
  });
  router.post('/sign-out', formBody, async (req, res) => {
    if (refusedAsCrossSite(deps, req, res)) return;
    const session = browserSessionOf(deps, req);
    if (session) await endBrowserSession(deps, req, session, formField(req, 'everywhere') === '1');
    seeOther(res, '/auth/sign-in', deps.browser.cookie.cleared);
  });

  /** The session this browser had before signing in anew, ended: one browser, one session. */
  async function endEarlierSession(req: Request): Promise<void> {
    const earlier = browserSessionOf(deps, req);
    if (earlier) await endBrowserSession(deps, req, earlier, false);
  }

  function registrationClosed(): string {
    return errorPage({
      title,
      heading: 'Registration is closed',
      message: 'New accounts cannot be created here. Ask an administrator for one.',
      link: { href: '/auth/sign-in', text: 'Sign in' },
    });
  }
}
