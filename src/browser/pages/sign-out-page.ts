import { escapeHtml, link, postForm, renderLayout, submitButton } from './html.js';

export interface SignOutConfirmPageOptions {
  /** The configured title (`browser.title`). */
  readonly title: string;
  /** Who would be signed out, when the request carried a session. */
  readonly username?: string;
}

/**
 * The answer to GET /auth/sign-out: a button that posts the sign-out. A GET never signs out by itself,
 * so a link or an image on another site cannot end a session.
 */
export function signOutConfirmPage({ title, username }: SignOutConfirmPageOptions): string {
  const who = username ? `<p>You are signed in as <strong>${escapeHtml(username)}</strong>.</p>\n` : '';
  const content =
    who +
    postForm('/auth/sign-out', submitButton('Sign out')) +
    `<p class="aside">${link('/', 'Stay signed in')}</p>\n`;
  return renderLayout({ title, heading: 'Sign out?', content });
}
