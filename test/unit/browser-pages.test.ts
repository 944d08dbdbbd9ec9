import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountPage } from '../../src/browser/pages/account-page.js';
import { escapeHtml } from '../../src/browser/pages/html.js';
import { signInPage } from '../../src/browser/pages/sign-in-page.js';
import { signOutConfirmPage } from '../../src/browser/pages/sign-out-page.js';
import { signUpPage } from '../../src/browser/pages/sign-up-page.js';
import { errorPage, forbiddenPage, notFoundPage } from '../../src/browser/pages/status-pages.js';
import { STYLESHEET_PATH } from '../../src/browser/pages/stylesheet.js';

const EVIL = `"><script>alert(1)</script><img src=x onerror='alert(2)'>&amp;`;
const POLICY = { minLength: 12, maxBytes: 72 };

/** Every page, with `value` in each field that is echoed. */
function renderAll(value: string): [string, string][] {
  return [
    [
      'the sign-in page',
      signInPage({
        title: value,
        returnPath: `/a${value}`,
        username: value,
        message: value,
        signUpAvailable: true,
      }),
    ],
    [
      'the sign-up page',
      signUpPage({
        title: value,
        returnPath: `/a${value}`,
        username: value,
        message: value,
        passwordPolicy: POLICY,
      }),
    ],
    [
      'the account page',
      accountPage({
        title: value,
        username: value,
        roles: [value],
        message: value,
        notice: value,
        passwordPolicy: POLICY,
      }),
    ],
    ['the sign-out page', signOutConfirmPage({ title: value, username: value })],
    ['the forbidden page', forbiddenPage({ title: value, username: value, requiredRoles: [value, 'admin'] })],
    [
      'the error page',
      errorPage({ title: value, heading: value, message: value, link: { href: `/x${value}`, text: value } }),
    ],
    ['the not-found page', notFoundPage({ title: value })],
  ];
}

/** The value of `name` on the element whose opening tag contains `marker`. */
function attributeOf(html: string, marker: string, name: string): string | undefined {
  const tag = html.split('<').find((piece) => piece.includes(marker));
  const match = tag === undefined ? null : new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return match?.[1];
}

/** The opening tag of the input named `name`. */
function inputNamed(html: string, name: string): string {
  const tag = /<input[^>]*>/g;
  for (const match of html.matchAll(tag)) if (match[0].includes(` name="${name}"`)) return match[0];
  assert.fail(`no input named ${name}`);
}

describe('browser pages', () => {
  describe('escaping', () => {
    it('escapes & < > " and \' as character references', () => {
      assert.equal(
        escapeHtml(`<a href="x" title='y'>&</a>`),
        '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
      );
    });

    for (const [name, html] of renderAll(EVIL)) {
      it(`${name} never echoes markup raw: no "><script>, no <img, no onerror=', no second <title>`, () => {
        assert.doesNotMatch(html, /<script|<img/i);
        assert.doesNotMatch(html, /"><script|onerror='/);
        assert.equal(html.match(/<title>/g)?.length, 1);
        assert.ok(html.includes(escapeHtml(EVIL)), 'the value is shown, escaped');
      });
    }

    for (const [name, html] of renderAll('alice')) {
      it(`${name} is a whole document with no script, no inline style and the one stylesheet`, () => {
        assert.match(html, /^<!doctype html>\n<html lang="en">/);
        assert.match(html, /<meta charset="utf-8">/);
        assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
        assert.match(html, new RegExp(`<link rel="stylesheet" href="${STYLESHEET_PATH}">`));
        assert.match(html, /<main[^>]*>[\s\S]*<h1>[\s\S]*<\/main>/);
        assert.doesNotMatch(html, /<script|style=|<style|javascript:|\son[a-z]+=/i);
      });
    }

    it('encodes the return path in the sign-up link and keeps it whole in the hidden rd', () => {
      const html = signInPage({ title: 'Sign in', returnPath: '/a?b=1&c="d"', signUpAvailable: true });
      assert.equal(attributeOf(html, 'name="rd"', 'value'), '/a?b=1&amp;c=&quot;d&quot;');
      assert.equal(
        attributeOf(html, 'href="/auth/sign-up', 'href'),
        '/auth/sign-up?rd=%2Fa%3Fb%3D1%26c%3D%22d%22',
      );
    });
  });

  describe('the sign-in page', () => {
    const html = signInPage({ title: 'Acme', returnPath: '/reports?q=1', signUpAvailable: false });

    it('posts username, password and the hidden rd to /auth/sign-in', () => {
      assert.match(html, /<form method="post" action="\/auth\/sign-in">/);
      assert.equal(attributeOf(html, 'name="rd"', 'type'), 'hidden');
      assert.equal(attributeOf(html, 'name="rd"', 'value'), '/reports?q=1');
      assert.match(html, /<button type="submit">Sign in<\/button>/);
    });

    it('labels each field and gives password managers their autocomplete tokens', () => {
      const username = inputNamed(html, 'username');
      assert.match(username, /autocomplete="username"/);
      assert.match(username, /autocapitalize="none"/);
      assert.match(username, /spellcheck="false"/);
      assert.match(username, /\srequired/);
      const password = inputNamed(html, 'password');
      assert.match(password, /type="password"/);
      assert.match(password, /autocomplete="current-password"/);
      assert.match(password, /\srequired/);
      assert.match(html, /<label for="username">Username<\/label>/);
      assert.match(html, /<label for="password">Password<\/label>/);
    });

    it('has no alert without a message and no sign-up link when registration is closed', () => {
      assert.doesNotMatch(html, /role="alert"/);
      assert.doesNotMatch(html, /\/auth\/sign-up/);
    });

    it('announces a message above the form, keeps the username, and focuses the password', () => {
      const retry = signInPage({
        title: 'Acme',
        returnPath: '/',
        username: 'alice',
        message: 'Wrong username or password.',
        signUpAvailable: true,
      });
      const alertAt = retry.indexOf('role="alert"');
      assert.ok(alertAt > 0 && alertAt < retry.indexOf('<form'), 'the alert comes before the form');
      assert.match(retry, /role="alert"[^>]*>Wrong username or password\.<\/p>/);
      assert.match(inputNamed(retry, 'username'), /value="alice"/);
      assert.match(inputNamed(retry, 'password'), /\sautofocus/);
      assert.match(inputNamed(retry, 'password'), /aria-describedby="page-alert"/);
      assert.match(retry, /href="\/auth\/sign-up\?rd=%2F"/);
    });
  });

  describe('the sign-up page', () => {
    const html = signUpPage({
      title: 'Acme',
      returnPath: '/x',
      message: 'That username is taken.',
      passwordPolicy: POLICY,
    });

    it('posts username, password and rd to /auth/sign-up with a new-password field', () => {
      assert.match(html, /<form method="post" action="\/auth\/sign-up">/);
      assert.match(inputNamed(html, 'username'), /autocomplete="username"/);
      assert.match(inputNamed(html, 'password'), /autocomplete="new-password"/);
      assert.equal(attributeOf(html, 'name="rd"', 'value'), '/x');
      assert.match(html, /role="alert"[^>]*>That username is taken\.</);
    });

    it('spells out the password policy as help text the password field points at', () => {
      const password = inputNamed(html, 'password');
      const helpId = /aria-describedby="([^"]+)"/.exec(password)?.[1];
      assert.ok(helpId);
      assert.match(
        html,
        new RegExp(`<p class="help" id="${helpId}">At least 12 characters and at most 72 bytes`),
      );
      assert.match(password, /minlength="12"/);
    });

    it('points the username field at the message, or the password field when the message is about it', () => {
      assert.match(inputNamed(html, 'username'), /aria-describedby="page-alert"/);
      assert.match(inputNamed(html, 'username'), /aria-invalid="true"/);
      const weak = signUpPage({
        title: 'Acme',
        returnPath: '/',
        username: 'bob',
        message: 'The password is too short.',
        messageField: 'password',
        passwordPolicy: POLICY,
      });
      const password = inputNamed(weak, 'password');
      assert.match(password, /aria-describedby="page-alert password-help"/);
      assert.match(password, /aria-invalid="true"/);
      assert.match(password, /\sautofocus/);
      assert.doesNotMatch(inputNamed(weak, 'username'), /aria-invalid|autofocus/);
    });

    it('links back to sign-in with the same return path', () => {
      assert.match(html, /href="\/auth\/sign-in\?rd=%2Fx"/);
    });
  });

  describe('the account page', () => {
    const html = accountPage({
      title: 'Acme',
      username: 'alice',
      roles: ['admin', 'ops'],
      notice: 'Password changed.',
    });

    it('shows the username and the roles as a list', () => {
      assert.match(html, /<dd>alice<\/dd>/);
      assert.match(html, /<li>admin<\/li><li>ops<\/li>/);
      assert.match(accountPage({ title: 'Acme', username: 'bob', roles: [] }), /No roles/);
    });

    it('changes the password with current-password and new-password fields, naming the account for managers', () => {
      assert.match(html, /<form method="post" action="\/auth\/account\/password">/);
      assert.match(inputNamed(html, 'currentPassword'), /autocomplete="current-password"/);
      assert.match(inputNamed(html, 'newPassword'), /autocomplete="new-password"/);
      const account = inputNamed(html, 'username');
      assert.match(account, /autocomplete="username"/);
      assert.match(account, /value="alice"/);
      assert.match(account, /\shidden/);
    });

    it('shows a failed change inside the change-password section, on the field it is about', () => {
      const failed = accountPage({
        title: 'Acme',
        username: 'alice',
        roles: [],
        message: 'The new password is too short.',
        messageField: 'newPassword',
      });
      const section = failed.slice(failed.indexOf('<h2 id="change-password">'));
      assert.ok(
        section.indexOf('role="alert"') < section.indexOf('<form'),
        'the alert comes before the form',
      );
      assert.match(inputNamed(failed, 'newPassword'), /aria-invalid="true"/);
      assert.match(inputNamed(failed, 'newPassword'), /\sautofocus/);
      assert.doesNotMatch(inputNamed(failed, 'currentPassword'), /aria-invalid/);
    });

    it('signs out here or everywhere, each with a POST to /auth/sign-out', () => {
      assert.equal(html.match(/<form method="post" action="\/auth\/sign-out">/g)?.length, 2);
      assert.equal(attributeOf(html, 'name="everywhere"', 'value'), '1');
      assert.equal(attributeOf(html, 'name="everywhere"', 'type'), 'hidden');
      assert.match(html, />Sign out everywhere<\/button>/);
    });

    it('announces a notice as a status and an error as an alert', () => {
      assert.match(html, /role="status">Password changed\.</);
      assert.doesNotMatch(html, /role="alert"/);
      const failed = accountPage({ title: 'Acme', username: 'alice', roles: [], message: 'Wrong password.' });
      assert.match(failed, /role="alert"[^>]*>Wrong password\.</);
    });
  });

  describe('the other pages', () => {
    it('asks before signing out, with one button that posts', () => {
      const html = signOutConfirmPage({ title: 'Acme', username: 'alice' });
      assert.match(html, /<h1>Sign out\?<\/h1>/);
      assert.equal(html.match(/<form /g)?.length, 1);
      assert.match(
        html,
        /<form method="post" action="\/auth\/sign-out">\n<button type="submit">Sign out<\/button>/,
      );
    });

    it('tells a signed-in user which roles the page needs, joined with "or"', () => {
      const html = forbiddenPage({ title: 'Acme', username: 'alice', requiredRoles: ['admin', 'ops'] });
      assert.match(
        html,
        /Signed in as <strong>alice<\/strong>; this page needs <strong>admin<\/strong> or <strong>ops<\/strong>\./,
      );
      assert.match(html, /href="\/auth\/account"/);
      assert.match(html, /href="\/auth\/sign-out"/);
    });

    it('shows the configured title above the heading, unless it is the heading or the default "Sign in"', () => {
      assert.match(
        signInPage({ title: 'Acme', returnPath: '/', signUpAvailable: false }),
        /<p class="brand">Acme<\/p>/,
      );
      const plain = signInPage({ title: 'Sign in', returnPath: '/', signUpAvailable: false });
      assert.doesNotMatch(plain, /class="brand"/);
      assert.match(plain, /<title>Sign in<\/title>/);
      const unbranded = notFoundPage({ title: 'Sign in' });
      assert.doesNotMatch(unbranded, /class="brand"/);
      assert.match(unbranded, /<title>Page not found<\/title>/);
    });
  });
});
