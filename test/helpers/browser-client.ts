/**
 * A browser as the sidecar sees it, spoken with supertest (never global fetch, which rewrites
 * Sec-Fetch-*): navigations, same-origin and cross-site form posts, and the session cookie.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import type { TestSidecar } from './sidecar.js';

/** The Fetch Metadata and Accept of a person opening a page by typing its address. */
export const NAVIGATION: Readonly<Record<string, string>> = Object.freeze({
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-Site': 'none',
  'Sec-Fetch-Dest': 'document',
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
});

/** What a page's `fetch()` sends to its own origin. */
export const SAME_ORIGIN_FETCH: Readonly<Record<string, string>> = Object.freeze({
  'Sec-Fetch-Mode': 'cors',
  'Sec-Fetch-Site': 'same-origin',
  'Sec-Fetch-Dest': 'empty',
  Accept: '*/*',
});

/** The headers of a form posted by a page of `baseUrl` itself. */
export function sameOriginPost(baseUrl: string): Record<string, string> {
  return {
    'Sec-Fetch-Mode': 'navigate',
    'Sec-Fetch-Site': 'same-origin',
    'Sec-Fetch-Dest': 'document',
    Origin: new URL(baseUrl).origin,
  };
}

/** The headers of a form auto-submitted by a page of another site. */
export const CROSS_SITE_POST: Readonly<Record<string, string>> = Object.freeze({
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-Site': 'cross-site',
  'Sec-Fetch-Dest': 'document',
  Origin: 'http://evil.example',
});

/** Every Set-Cookie field of a response. */
export function setCookies(response: request.Response): string[] {
  const fields = response.headers['set-cookie'] as string | string[] | undefined;
  if (fields === undefined) return [];
  return Array.isArray(fields) ? fields : [fields];
}

/** The Set-Cookie field that sets the cookie `name`, if the response has one. */
export function setCookieFor(response: request.Response, name: string): string | undefined {
  return setCookies(response).find((field) => field.startsWith(`${name}=`));
}

/** `name=value` of a cookie the response sets with a value, as a browser would send it back. */
export function cookieSetBy(response: request.Response, name: string): string {
  const field = setCookieFor(response, name);
  assert.ok(field, `no Set-Cookie for ${name}: ${JSON.stringify(setCookies(response))}`);
  const pair = field.split(';')[0] ?? '';
  assert.notEqual(pair, `${name}=`, `the Set-Cookie for ${name} clears it: ${field}`);
  return pair;
}

/** The value of a `name=value` pair. */
export function valueOf(pair: string): string {
  return pair.slice(pair.indexOf('=') + 1);
}

/** A GET as a person opening `path` in the browser, with the cookie if any. */
export function navigate(baseUrl: string, path: string, cookie?: string): request.Test {
  const test = request(baseUrl).get(path).set(NAVIGATION);
  if (cookie !== undefined) test.set('Cookie', cookie);
  return test;
}

/** A POST of a url-encoded form; `headers` say where it came from (same origin unless told). */
export function postForm(
  baseUrl: string,
  path: string,
  fields: Readonly<Record<string, string>>,
  options: { readonly cookie?: string; readonly headers?: Readonly<Record<string, string>> } = {},
): request.Test {
  const test = request(baseUrl)
    .post(path)
    .set(options.headers ?? sameOriginPost(baseUrl))
    .type('form');
  if (options.cookie !== undefined) test.set('Cookie', options.cookie);
  return test.send({ ...fields });
}

/** The outcome of a sign-in through the form: the response, and the cookie (`name=value`) it set. */
export interface SignedIn {
  readonly response: request.Response;
  readonly cookie: string;
}

/** Signs in through POST /auth/sign-in, as the form does; must succeed (303 with the cookie). */
export async function signIn(
  baseUrl: string,
  cookieName: string,
  credentials: { readonly username: string; readonly password: string; readonly rd?: string },
): Promise<SignedIn> {
  const response = await postForm(baseUrl, '/auth/sign-in', {
    username: credentials.username,
    password: credentials.password,
    rd: credentials.rd ?? '/',
  });
  assert.equal(
    response.status,
    303,
    `sign-in of ${credentials.username}: ${response.status} ${response.text}`,
  );
  return { response, cookie: cookieSetBy(response, cookieName) };
}

/** Creates a user with a real password straight in the sidecar's store; returns its id. */
export async function createUser(
  sidecar: TestSidecar,
  username: string,
  password: string,
  roles: readonly string[] = ['user'],
): Promise<string> {
  const passwordHash = await sidecar.deps.passwords.hash(password, 'test');
  const result = await sidecar.deps.store.users.create({ username, roles, passwordHash });
  if (!result.created) throw new Error(`createUser: ${username} exists`);
  return result.user.id;
}

/** The text of the page's announced error line (role="alert"), if it has one. */
export function alertText(html: string): string | undefined {
  return /<p [^>]*role="alert"[^>]*>([^<]*)<\/p>/.exec(html)?.[1];
}

/** The value of the hidden `rd` field of a form page. */
export function hiddenReturnPath(html: string): string | undefined {
  return /<input type="hidden" name="rd" value="([^"]*)">/.exec(html)?.[1];
}
