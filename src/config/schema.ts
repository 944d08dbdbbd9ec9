/**
 * The one config schema: validation, TypeScript types, defaults and descriptions come from here.
 * This module imports nothing from the rest of the sidecar.
 */
import { z } from 'zod';

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

/** Parses `500ms`, `30s`, `15m`, `12h` or `7d` to milliseconds; undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof DURATION_UNITS_MS];
  return Number(amount) * DURATION_UNITS_MS[unit];
}

const duration = (fallback: string, description: string) =>
  z
    .string({ error: 'expected a duration such as 30s, 15m or 7d' })
    .regex(DURATION_PATTERN, { error: 'expected a duration such as 30s, 15m or 7d' })
    .transform((text) => parseDurationMs(text) ?? 0)
    .refine((ms) => ms > 0, { error: 'expected a duration greater than zero' })
    .prefault(fallback)
    .describe(`${description} A number with a unit: ms, s, m, h or d.`);

/** A duration that may be zero: a pause that is off by default. */
const pause = (fallback: string, description: string) =>
  z
    .string({ error: 'expected a duration such as 0s, 5s or 500ms' })
    .regex(DURATION_PATTERN, { error: 'expected a duration such as 0s, 5s or 500ms' })
    .transform((text) => parseDurationMs(text) ?? 0)
    .prefault(fallback)
    .describe(`${description} A number with a unit: ms, s, m, h or d.`);

const positiveInt = (fallback: number, description: string) =>
  z
    .number({ error: 'expected a whole number' })
    .int({ error: 'expected a whole number' })
    .min(1, { error: 'expected at least 1' })
    .default(fallback)
    .describe(description);

const ipOrCidr = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], {
  error: 'expected an IP address or CIDR such as 10.0.0.0/8',
});

/** RFC 9110 §5.1 field-name token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerName = (fallback: string, description: string) =>
  z
    .string()
    .regex(HEADER_NAME, { error: 'expected an HTTP header name' })
    .default(fallback)
    .describe(description);

/** Role names travel comma-separated in a header, so they cannot hold commas or spaces. */
export const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
const roleName = z
  .string({ error: 'expected a role name' })
  .regex(ROLE_NAME, { error: 'expected a role name of letters, digits and . _ : / - (no commas or spaces)' });

/** A cookie name (RFC 6265 token), kept to characters no tool mangles. */
const COOKIE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** RFC 9110 §9.1 method token (tchar+), the same characters as a field name. */
export const METHOD_TOKEN = HEADER_NAME;

/**
 * A method as rules, policy tests and `explain` compare it: upper-cased. RFC 9110 §9.1 makes method
 * names case-sensitive, but every registered method is upper-case and Node's parser accepts only
 * the upper-case methods it knows, so `get` in a config can only mean GET; kept as written, a
 * protected rule naming `move` would silently never match a MOVE.
 */
export function normalizeMethod(method: string): string {
  return method.toUpperCase();
}

const methodName = z
  .string({ error: 'expected an HTTP method' })
  .regex(METHOD_TOKEN, {
    error: "expected an HTTP method: a token of letters, digits and !#$%&'*+-.^_`|~ (RFC 9110 §9.1)",
  })
  .transform(normalizeMethod);

/**
 * Why the %-escapes or non-ASCII characters of a glob are unusable. Requests with an encoded `/`,
 * backslash, `.` or control character are refused, so a glob holding one could never match; `%2A`
 * would turn into the `*` wildcard once decoded.
 */
function findEscapeProblem(glob: string): string | undefined {
  try {
    encodeURIComponent(glob);
  } catch {
    return 'a rule path must be valid Unicode';
  }
  for (const match of glob.matchAll(/%(.{0,2})/g)) {
    const hex = match[1] ?? '';
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return 'a % in a rule path must start a %-escape such as %3A';
    const octet = parseInt(hex, 16);
    if (octet < 0x20 || octet === 0x7f || octet === 0x2f || octet === 0x5c || octet === 0x2e)
      return `a rule path cannot contain %${hex}: requests holding an encoded /, \\, . or control character are refused, so the rule could never match`;
    if (octet === 0x2a) return 'a rule path cannot contain %2A: decoded, it would be the * wildcard';
  }
  try {
    decodeURIComponent(glob);
  } catch {
    return 'the %-escapes of a rule path must spell UTF-8';
  }
  return undefined;
}

/** Why a rule glob is unusable, or undefined when it is fine. */
export function findGlobProblem(glob: string): string | undefined {
  if (!glob.startsWith('/')) return 'expected a path starting with /';
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[?#\\\s\u0000-\u001f\u007f]/.test(glob))
    return 'a rule path cannot contain ?, #, \\, white space or control characters';
  const escapeProblem = findEscapeProblem(glob);
  if (escapeProblem) return escapeProblem;
  if (glob === '/') return undefined;
  const segments = glob.slice(1).split('/');
  for (const [index, segment] of segments.entries()) {
    const isLast = index === segments.length - 1;
    if (segment === '' && !isLast) return 'a rule path cannot contain empty segments (//)';
    // A request's trailing slash is optional, so a glob's cannot be meaningful: `/console/` would
    // leave `/console` to a later rule. Which of the two the operator meant is theirs to say.
    if (segment === '' && isLast) {
      const bare = glob.slice(0, -1);
      return `a rule path cannot end with /: write ${bare} (matches ${bare} and ${bare}/) or ${bare}/** (and everything under it)`;
    }
    if (segment === '.' || segment === '..') return 'a rule path cannot contain . or .. segments';
    if (segment.includes(';'))
      return 'a rule path cannot contain ; (path parameters are refused in requests)';
    if (segment.includes('*') && segment !== '*' && segment !== '**') {
      return '* and ** must stand alone as a whole path segment';
    }
    if (segment === '**' && !isLast) return '** may only be the last segment';
  }
  return undefined;
}

const ruleSchema = z
  .strictObject({
    path: z
      .string({ error: 'expected a path glob such as /api/**' })
      .superRefine((glob, ctx) => {
        const problem = findGlobProblem(glob);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe(
        'Path glob: `*` is exactly one non-empty segment, `**` any depth (`/api/**` matches `/api`). Compared with the request path in one spelling: `%3A` is `:`, `ü` is `%C3%BC`; either may be written.',
      ),
    methods: z
      .array(methodName, { error: 'expected an array of HTTP methods' })
      .min(1, { error: 'expected at least one method (omit the key to match every method)' })
      .optional()
      .describe(
        'Methods this rule applies to, any RFC 9110 method token (upper-cased: `move` is MOVE); absent means all. HEAD is allowed wherever GET is.',
      ),
    public: z
      .literal(true, { error: 'expected true (omit the key otherwise)' })
      .optional()
      .describe('Forward without a token; identity headers are added when a valid token came along.'),
    authenticated: z
      .literal(true, { error: 'expected true (omit the key otherwise)' })
      .optional()
      .describe('Forward any request that carries a valid token.'),
    roles: z
      .array(roleName, { error: 'expected an array of strings' })
      .min(1, { error: 'expected at least one role' })
      .optional()
      .describe('Forward when the user holds at least one of these roles.'),
    signIn: z
      .literal(false, { error: 'expected false (omit the key otherwise)' })
      .optional()
      .describe(
        'With browser sign-in on, a browser navigation refused for want of a session is sent to the sign-in page; `signIn: false` answers it 401 like any other client (an API path a browser also calls).',
      ),
  })
  .superRefine((rule, ctx) => {
    const modes = (['public', 'authenticated', 'roles'] as const).filter((mode) => rule[mode] !== undefined);
    if (modes.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          modes.length === 0
            ? 'expected exactly one of public: true, authenticated: true or roles: [...]'
            : `expected exactly one of public, authenticated or roles, got ${modes.join(' and ')}`,
      });
    }
  });

const lowdbStoreSchema = z.strictObject({
  driver: z.literal('lowdb', { error: 'expected lowdb' }).default('lowdb').describe('Store driver.'),
  path: z
    .string()
    .min(1)
    .default('data/auth-sidecar.json')
    .describe('JSON file of the lowdb store, relative to the working directory; created on first start.'),
});

/** Passwords stay out of config files: one may only arrive in env REDIS_URL. */
const redisUrl = z
  .url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' })
  .superRefine((text, ctx) => {
    if (new URL(text).password !== '') {
      ctx.addIssue({
        code: 'custom',
        message: 'a password cannot be written in the config file; pass the whole URL in env REDIS_URL',
      });
    }
  });

export const DEFAULT_REDIS_KEY_PREFIX = 'auth-sidecar:';

const redisStoreSchema = z.strictObject({
  driver: z.literal('redis', { error: 'expected redis' }).describe('Store driver.'),
  url: redisUrl
    .default('redis://127.0.0.1:6379/0')
    .describe(
      'The Redis server (redis:// or rediss://, with the database number as path); env REDIS_URL overrides it and is the only place for a password.',
    ),
  keyPrefix: z
    .string()
    .min(1)
    .default(DEFAULT_REDIS_KEY_PREFIX)
    .describe('Prefix of every key and of the events channel, so that several sidecars can share a server.'),
  unavailable: z
    .enum(['fail-closed', 'serve-verified'], { error: 'expected fail-closed or serve-verified' })
    .default('fail-closed')
    .describe(
      'Requests with a valid token (proxied, WebSocket upgrades, forward-auth) while Redis is unreachable: fail-closed answers 503, since revocations cannot be checked, and closes open WebSockets at their next recheck; serve-verified lets them through, logging and counting each one, and keeps /readyz at 200.',
    ),
});

/** A key id as tokens carry it in `kid` and the JWKS publishes it. */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const signingKeySchema = z.strictObject({
  kid: z
    .string({ error: 'expected a key id' })
    .regex(KID_PATTERN, { error: 'expected a key id of 1 to 64 letters, digits and . _ -' })
    .describe('The key id tokens carry (`kid`) and the JWKS publishes.'),
  file: z
    .string({ error: 'expected a file path' })
    .min(1, { error: 'expected a file path' })
    .describe(
      'A PEM private key (PKCS#8, SEC1 or PKCS#1): Ed25519 (EdDSA), P-256 (ES256) or RSA of at least 2048 bits (RS256). Relative to the config file.',
    ),
});

/** A dotted path into a token's claims, such as `realm_access.roles`. */
const CLAIM_PATH = /^[A-Za-z0-9_:$-]+(\.[A-Za-z0-9_:$-]+)*$/;
const claimPath = z
  .string({ error: 'expected a claim path' })
  .regex(CLAIM_PATH, { error: 'expected a claim name or a dotted path such as realm_access.roles' });

const ALGORITHMS = ['EdDSA', 'ES256', 'RS256'] as const;

/** One `trust` entry: an identity provider whose tokens are accepted (wired in a coming change). */
export const trustedIssuerSchema = z
  .strictObject({
    issuer: z
      .string({ error: 'expected an issuer' })
      .min(1, { error: 'expected an issuer' })
      .describe('The `iss` of the tokens this entry accepts, exactly as the provider writes it.'),
    jwksUrl: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe("The provider's JWKS; give it or `discovery`, not both."),
    discovery: z
      .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
      .optional()
      .describe(
        "The provider's OpenID configuration (its /.well-known/openid-configuration); its `jwks_uri` names the keys. Give it or `jwksUrl`, not both.",
      ),
    audience: z
      .string({ error: 'expected an audience' })
      .min(1, { error: 'expected an audience' })
      .describe('The `aud` the tokens must carry (one of, when they carry several).'),
    algorithms: z
      .array(z.enum(ALGORITHMS, { error: 'expected EdDSA, ES256 or RS256' }))
      .min(1, { error: 'expected at least one algorithm' })
      .default(['RS256', 'ES256'])
      .describe('The signature algorithms accepted from this provider.'),
    usernameClaim: claimPath.default('sub').describe('The claim that gives the username (X-User).'),
    rolesClaim: claimPath
      .optional()
      .describe(
        'The claim that gives the roles: an array, or a space- or comma-separated string. Absent: no roles.',
      ),
    roleMap: z
      .record(z.string().min(1), roleName)
      .default({})
      .describe("The provider's role or group names mapped to the rules' roles."),
    mapOnly: z
      .boolean({ error: 'expected true or false' })
      .default(false)
      .describe('true: values without an entry in roleMap are dropped; false: they pass as they are.'),
  })
  .superRefine((entry, ctx) => {
    if ((entry.jwksUrl === undefined) === (entry.discovery === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'give either jwksUrl or discovery' });
    }
  });

const storeSchema = z
  .discriminatedUnion('driver', [lowdbStoreSchema, redisStoreSchema], { error: 'expected lowdb or redis' })
  .prefault({})
  .describe(
    'Where users and refresh tokens live: `lowdb` (one JSON file, one replica) or `redis` (shared by replicas).',
  );

/** `METHOD TARGET`: a method token, one space, a request-target as a client sends it. */
const POLICY_REQUEST = /^(\S+) (\S+)$/;

const policyTestSchema = z
  .strictObject({
    request: z
      .string({ error: 'expected METHOD TARGET, such as GET /admin/users' })
      .superRefine((text, ctx) => {
        const match = POLICY_REQUEST.exec(text);
        if (!match)
          ctx.addIssue({ code: 'custom', message: 'expected METHOD TARGET, such as GET /admin/users' });
        else if (!METHOD_TOKEN.test(match[1]!))
          ctx.addIssue({ code: 'custom', message: 'expected an HTTP method token (RFC 9110 §9.1)' });
      })
      .transform((text) => {
        const [method = '', target = ''] = text.split(' ');
        return { method: normalizeMethod(method), target };
      })
      .describe(
        'The request to decide: a method and a request-target as a client sends it, such as `GET /admin/users`.',
      ),
    as: z
      .strictObject({
        roles: z
          .array(roleName, { error: 'expected an array of strings' })
          .default([])
          .describe('Roles of the user; empty: a user without roles.'),
      })
      .optional()
      .describe('The user making the request, with a valid token; absent: an anonymous request (no token).'),
    expect: z
      .union([z.literal('forward'), z.literal(400), z.literal(401), z.literal(403)], {
        error: 'expected forward, 400, 401 or 403',
      })
      .describe('The outcome the rules must give: `forward`, or the status of the refusal.'),
  })
  .describe('A policy test: a request, who makes it, and the outcome the rules must give.');

export const configSchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0').describe('Address to listen on.'),
        port: z
          .number({ error: 'expected a port number' })
          .int()
          .min(0)
          .max(65535)
          .default(8080)
          .describe('Port to listen on; env PORT overrides it.'),
      })
      .prefault({})
      .describe('Where the sidecar accepts requests.'),
    upstream: z
      .strictObject({
        url: z
          .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
          .default('http://127.0.0.1:3000')
          .describe('The backend every allowed request is forwarded to; env UPSTREAM_URL overrides it.'),
        timeout: duration('30s', 'How long the backend may stay silent before the sidecar answers 504.'),
        maxConnections: positiveInt(
          256,
          'Connections to the backend at most; each proxied request holds one until its response has gone to the client, each WebSocket until the backend switched protocols. While all are in use /readyz answers 503 (reason upstream_saturated) and further requests wait in line.',
        ),
        queueTimeout: duration(
          '5s',
          'How long a request may wait for a free backend connection before the sidecar answers 503 with Retry-After.',
        ),
      })
      .prefault({})
      .describe('The backend behind the sidecar.'),
    store: storeSchema,
    tokens: z
      .strictObject({
        issuer: z
          .string()
          .min(1)
          .default('auth-sidecar')
          .describe('`iss` of issued tokens, required on verify.'),
        audience: z
          .string()
          .min(1)
          .default('upstream')
          .describe('`aud` of issued tokens, required on verify.'),
        accessTtl: duration('15m', 'Lifetime of an access token.'),
        refreshTtl: duration('7d', 'Lifetime of each refresh token.'),
        leeway: duration('30s', 'Clock skew tolerated when checking exp and nbf.'),
        maxSessions: positiveInt(
          50,
          'Sessions (refresh-token families, one per login) a user may hold at once; a login past it ends the oldest, and its access tokens.',
        ),
        cacheSize: z
          .number({ error: 'expected a whole number' })
          .int({ error: 'expected a whole number' })
          .min(0, { error: 'expected 0 or more' })
          .default(10_000)
          .describe(
            'Verified access tokens remembered (LRU), so a token is parsed and its signature checked once; 0 turns it off. Revocation is still checked on every request.',
          ),
        keys: z
          .array(signingKeySchema)
          .min(1, { error: 'expected at least one key' })
          .optional()
          .describe(
            'Signing keys, as files: the first signs, every one verifies tokens that name it by `kid`; published at GET /auth/jwks.json. A reload picks up a changed list. Absent: HS256 with env JWT_SECRET.',
          ),
      })
      .prefault({})
      .describe(
        'Access tokens (JWTs signed with tokens.keys, or HS256 with env JWT_SECRET) and refresh tokens.',
      ),
    passwords: z
      .strictObject({
        bcryptCost: z
          .number({ error: 'expected a number' })
          .int()
          .min(10, { error: 'expected a bcrypt cost of at least 10' })
          .max(31)
          .default(12)
          .describe('bcrypt cost factor for new password hashes.'),
        minLength: z
          .number({ error: 'expected a number' })
          .int()
          .min(1)
          .max(72)
          .default(8)
          .describe('Minimum password length in characters (at most 72 bytes are accepted).'),
        workers: positiveInt(
          2,
          'Threads that run bcrypt, at the lowest CPU priority, so logins never stall proxied traffic.',
        ),
        queue: positiveInt(
          64,
          'Password checks that may wait for a thread; past that, login and registration answer 503 with Retry-After.',
        ),
        queuePerClient: positiveInt(
          8,
          'Password checks one client (limits.ipv6Prefix decides what one client is) may have waiting or running at once; past that it is answered 429 with Retry-After, so one client never holds the whole queue. Waiting checks are served in turn, one client after another.',
        ),
      })
      .prefault({})
      .describe('Password policy and hashing.'),
    registration: z
      .strictObject({
        enabled: z
          .boolean({ error: 'expected true or false' })
          .default(true)
          .describe('Allow POST /auth/register.'),
        defaultRoles: z
          .array(roleName, { error: 'expected an array of strings' })
          .default(['user'])
          .describe('Roles given to self-registered users.'),
      })
      .prefault({})
      .describe('Self-service registration.'),
    identity: z
      .strictObject({
        userHeader: headerName('X-User', 'Header carrying the username to the backend.'),
        idHeader: headerName('X-User-Id', 'Header carrying the user id to the backend.'),
        rolesHeader: headerName('X-User-Roles', 'Header carrying the comma-separated roles to the backend.'),
        forwardBearerToken: z
          .boolean({ error: 'expected true or false' })
          .default(false)
          .describe(
            "Pass the client's `Authorization: Bearer …` on to the backend, for a backend that verifies the tokens itself. false: removed from every forwarded request and WebSocket upgrade, whether the token verified or not (the identity headers say who the caller is), so that no backend log keeps a replayable token; other schemes (Basic, …) are the backend's and pass where a public rule lets them through.",
          ),
      })
      .prefault({})
      .describe('Identity headers set on forwarded requests; clients can never set them.'),
    forwardAuth: z
      .strictObject({
        headers: z
          .enum(['original', 'forwarded'], { error: 'expected original or forwarded' })
          .default('original')
          .describe(
            'Which pair of headers GET /auth/verify reads the original request from: `original` (X-Original-Method and X-Original-URI, as the nginx snippet sets them) or `forwarded` (X-Forwarded-Method and X-Forwarded-Uri, as Traefik and Caddy send them). A question that carries a header of the other pair, repeats one, or lacks one is refused with 400.',
          ),
      })
      .prefault({})
      .describe('GET /auth/verify, the decision endpoint for a proxy in front.'),
    browser: z
      .strictObject({
        enabled: z
          .boolean({ error: 'expected true or false' })
          .default(true)
          .describe('Serve the sign-in pages under /auth/ and accept the session cookie.'),
        title: z
          .string({ error: 'expected a text' })
          .min(1, { error: 'expected a non-empty text' })
          .max(100, { error: 'expected at most 100 characters' })
          .default('Sign in')
          .describe('Shown on the pages.'),
        cookie: z
          .strictObject({
            name: z
              .string({ error: 'expected a cookie name' })
              .regex(COOKIE_NAME, { error: 'expected a cookie name of letters, digits and - _ .' })
              .refine((name) => !/^__(host|secure)-/i.test(name), {
                error: 'expected a name without a __Host- or __Secure- prefix (secure: true adds __Host-)',
              })
              .default('auth-sidecar')
              .describe('The session cookie; with `secure: true` it is sent as `__Host-` and this name.'),
            secure: z
              .boolean({ error: 'expected true or false' })
              .default(true)
              .describe(
                'Send the cookie only over https (and with the __Host- prefix). false only for plain-http development: start-up then logs a warning.',
              ),
            sameSite: z
              .enum(['lax', 'strict'], { error: 'expected lax or strict' })
              .default('lax')
              .describe(
                '`lax`: following a link from another site arrives signed in; `strict`: it arrives signed out.',
              ),
          })
          .prefault({})
          .describe('The session cookie: HttpOnly, Path=/, no Domain.'),
        session: z
          .strictObject({
            idleTimeout: duration('30m', 'A browser session ends after this long without a request.'),
            maxAge: duration('12h', 'A browser session ends this long after sign-in, whatever the activity.'),
          })
          .prefault({})
          .describe('How long a browser session lasts.'),
        trustedOrigins: z
          .array(
            z
              .url({ protocol: /^https?$/, error: 'expected an origin such as https://app.example.com' })
              .refine((url) => new URL(url).origin === url.replace(/\/$/, ''), {
                error: 'expected an origin only (scheme, host and port; no path)',
              })
              .transform((url) => new URL(url).origin),
            { error: 'expected a list of origins' },
          )
          .default([])
          .describe(
            'Other origins (such as https://admin.example.com) allowed to send unsafe requests and WebSocket upgrades with the session cookie; every other origin is refused with 403.',
          ),
      })
      .prefault({})
      .describe(
        'Browser sign-in: pages under /auth/ and a session cookie that authenticates like a bearer token.',
      ),
    default: z
      .enum(['deny', 'authenticated'], { error: 'expected deny or authenticated' })
      .default('deny')
      .describe('What happens to a path no rule matches.'),
    rules: z
      .array(ruleSchema, { error: 'expected a list of rules' })
      .default([])
      .describe('Route rules; the first rule that matches path and method decides.'),
    tests: z
      .array(policyTestSchema, { error: 'expected a list of policy tests' })
      .default([])
      .describe(
        'Policy tests, run through the same decision as requests at start-up and on every reload: a failing one refuses the config. `auth-sidecar test-config` runs them alone.',
      ),
    match: z
      .strictObject({
        caseInsensitive: z
          .boolean({ error: 'expected true or false' })
          .default(false)
          .describe(
            'Match rule paths ignoring case, for backends that do (IIS and friends): /ADMIN is then /admin.',
          ),
        allowEncodedPercent: z
          .boolean({ error: 'expected true or false' })
          .default(false)
          .describe(
            'Let through paths holding %25 before two hex digits (/a%252e), for backends that serve a literal % in paths. Off: refused with 400, since a backend that decodes twice reads /public/%252e%252e/admin as /admin.',
          ),
        allowNonNfkcPaths: z
          .boolean({ error: 'expected true or false' })
          .default(false)
          .describe(
            'Let through paths that Unicode NFKC normalization would change (fullwidth ．, ／, ａ). Off: refused with 400, since a backend that normalizes reads /ａdmin as /admin.',
          ),
      })
      .prefault({})
      .describe('How request paths are matched against rules.'),
    trustProxy: z
      .array(ipOrCidr, { error: 'expected a list of IP addresses or CIDRs' })
      .default([])
      .describe(
        'Peers whose X-Forwarded-For/-Proto/-Host are believed (a load balancer, an ingress, a proxy in front); empty: none. Behind an unlisted one every client shares its per-IP rate limits: when the first 100 requests all come from one or two unlisted addresses, trust_proxy.unlisted_proxy is logged once.',
      ),
    limits: z
      .strictObject({
        login: z
          .strictObject({
            perUsername: positiveInt(
              5,
              'Login attempts allowed per username per window; a successful one is given back.',
            ),
            perIp: positiveInt(
              50,
              'Login attempts allowed per client IP per window; a successful one is given back.',
            ),
            window: duration('15m', 'The login rate-limit window.'),
          })
          .prefault({})
          .describe('Brute-force limits on POST /auth/login.'),
        register: z
          .strictObject({
            perIp: positiveInt(10, 'Registrations allowed per client IP per window.'),
            window: duration('1h', 'The registration rate-limit window.'),
          })
          .prefault({})
          .describe('Limits on POST /auth/register.'),
        refresh: z
          .strictObject({
            perSession: positiveInt(
              10,
              'Refreshes allowed per session (refresh-token family) per window; a client refreshes once per access-token lifetime.',
            ),
            perUser: positiveInt(
              60,
              "Refreshes allowed per user per window, all the user's sessions together.",
            ),
            window: duration('1m', 'The refresh rate-limit window.'),
          })
          .prefault({})
          .describe('Limits on POST /auth/refresh.'),
        passwordChange: z
          .strictObject({
            perUser: positiveInt(
              5,
              'Wrong current passwords allowed per user per window on POST /auth/password; a right one starts afresh.',
            ),
            window: duration('15m', 'The password-change rate-limit window.'),
          })
          .prefault({})
          .describe(
            'Limits on POST /auth/password, counted per user id in a bucket of their own: failed logins never lock the owner out of changing the password.',
          ),
        passwordChecks: z
          .strictObject({
            perClient: positiveInt(
              300,
              'Password checks (logins, registrations, password changes) allowed per client per window, whatever their outcome.',
            ),
            perUser: positiveInt(
              30,
              'Password checks allowed per username per window, whatever their outcome.',
            ),
            window: duration('15m', 'The password-check metering window.'),
          })
          .prefault({})
          .describe(
            'Meters bcrypt work, successes included: a client logging in to its own accounts in a loop is answered 429 with Retry-After like a guesser.',
          ),
        proxy: z
          .strictObject({
            perClient: positiveInt(
              64,
              'Proxied requests and WebSockets (open or opening) one client may have under way at once; past that it is answered 429 with Retry-After. limits.ipv6Prefix and trustProxy decide what one client is.',
            ),
            bodyTimeout: duration(
              '10s',
              'The window a proxied request body is measured over: each window in which the sidecar reads must bring bodyMinRate bytes a second (or the end of the body), else the request is answered 408, its connection closed and the backend request aborted.',
            ),
            bodyMinRate: positiveInt(
              1024,
              'The slowest a proxied request body may arrive, in bytes a second, averaged over each bodyTimeout; time the backend is not taking the body does not count.',
            ),
            sendTimeout: duration(
              '30s',
              'How long a client may take none of a response while the sidecar holds more of it; then the connection is closed and the backend request aborted.',
            ),
          })
          .prefault({})
          .describe(
            'What one client may hold of the connections to the backend (upstream.maxConnections), and for how long.',
          ),
        ipv6Prefix: z
          .number({ error: 'expected a whole number' })
          .int({ error: 'expected a whole number' })
          .min(32, { error: 'expected a prefix length from 32 to 128' })
          .max(128, { error: 'expected a prefix length from 32 to 128' })
          .default(64)
          .describe(
            'Per-client limits count an IPv6 client by this many leading bits of its address (one /64 is one subscriber); IPv4 and IPv4-mapped IPv6 count by the address.',
          ),
      })
      .prefault({})
      .describe('Rate limits; exceeding one is answered 429 with Retry-After.'),
    websocket: z
      .strictObject({
        queryToken: z
          .boolean({ error: 'expected true or false' })
          .default(false)
          .describe(
            'Also take the token of a WebSocket upgrade from an access_token query parameter (browsers cannot set headers on a WebSocket); it is removed before forwarding and never logged.',
          ),
        recheck: duration(
          '60s',
          "How often an open WebSocket's token and session are checked again; one that expired or was revoked is closed.",
        ),
      })
      .prefault({})
      .describe('WebSocket upgrades, decided by the same rules as every request.'),
    metrics: z
      .strictObject({
        enabled: z
          .boolean({ error: 'expected true or false' })
          .default(true)
          .describe(
            'Serve Prometheus metrics at GET /metrics, where metrics.port or metrics.onPublicPort says; with neither, nowhere.',
          ),
        port: z
          .number({ error: 'expected a port number' })
          .int()
          .min(1)
          .max(65535)
          .optional()
          .describe(
            'Serve /metrics on this port of listen.host, and nothing else there; absent: no such port.',
          ),
        onPublicPort: z
          .boolean({ error: 'expected true or false' })
          .default(false)
          .describe(
            'Also serve /metrics on the public port (listen.port), where /metrics is then never forwarded; it tells anyone who can reach that port the Node version, the rule layout and live login counts. false: /metrics there is a path like any other, decided by the rules.',
          ),
      })
      .prefault({})
      .describe('Prometheus metrics.'),
    shutdown: z
      .strictObject({
        delay: pause(
          '0s',
          'After SIGTERM or SIGINT, how long /readyz answers 503 while requests are still accepted, so that load balancers stop sending first (a few seconds in Kubernetes).',
        ),
        grace: duration(
          '20s',
          'How long requests in flight may take to finish once the listener has stopped; then the remaining connections are closed.',
        ),
      })
      .prefault({})
      .describe('Graceful stop on SIGTERM and SIGINT.'),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
            error: 'expected fatal, error, warn, info, debug, trace or silent',
          })
          .default('info')
          .describe('Lowest log level written.'),
      })
      .prefault({})
      .describe('Logging.'),
  })
  .describe('auth-sidecar configuration');

/** The validated configuration, with every default filled in. */
export type Config = z.output<typeof configSchema>;
export type StoreConfig = z.output<typeof storeSchema>;
export type RedisStoreConfig = z.output<typeof redisStoreSchema>;
export type RuleConfig = z.output<typeof ruleSchema>;
export type BrowserConfig = z.output<typeof configSchema>['browser'];
export type PolicyTestConfig = z.output<typeof policyTestSchema>;
export type TrustedIssuerConfig = z.output<typeof trustedIssuerSchema>;
export type SigningKeyConfig = z.output<typeof signingKeySchema>;
