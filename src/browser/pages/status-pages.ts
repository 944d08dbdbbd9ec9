import { escapeHtml, link, renderLayout } from './html.js';

export interface ForbiddenPageOptions {
  /** The configured title (`browser.title`). */
  readonly title: string;
  readonly username: string;
  /** The roles the rule asks for; any one of them would do. */
  readonly requiredRoles: readonly string[];
}

/** The 403 page of a browser navigation by a signed-in user who lacks every role the rule asks for. */
export function forbiddenPage({ title, username, requiredRoles }: ForbiddenPageOptions): string {
  const needs =
    requiredRoles.length === 0
      ? 'a role you do not have'
      : requiredRoles.map((role) => `<strong>${escapeHtml(role)}</strong>`).join(' or ');
  const content = `<p>Signed in as <strong>${escapeHtml(username)}</strong>; this page needs ${needs}.</p>
<p>Ask an administrator for access, or sign in as someone else.</p>
<p class="aside">${link('/auth/account', 'Your account')}<span class="separator" aria-hidden="true">·</span>${link('/auth/sign-out', 'Sign out')}</p>
`;
  return renderLayout({ title, heading: 'No access', content });
}

export interface ErrorPageOptions {
  /** The configured title (`browser.title`). */
  readonly title: string;
  readonly heading: string;
  readonly message: string;
  /** Where to go from here (sign in, try again). */
  readonly link?: { readonly href: string; readonly text: string };
}

/** A page that only says what went wrong: registration closed, the server busy, nothing here. */
export function errorPage({ title, heading, message, link: next }: ErrorPageOptions): string {
  const content =
    `<p>${escapeHtml(message)}</p>\n` + (next ? `<p class="aside">${link(next.href, next.text)}</p>\n` : '');
  return renderLayout({ title, heading, content });
}

/** The 404 page for a path under /auth/ that is no page. */
export function notFoundPage({ title }: { readonly title: string }): string {
  return errorPage({
    title,
    heading: 'Page not found',
    message: 'There is no page at this address.',
    link: { href: '/', text: 'Go to the home page' },
  });
}
