/**
 * A fake identity provider on 127.0.0.1: its OpenID configuration and JWKS over real HTTP, and
 * tokens signed with jose by the keys it publishes. Tests rotate its keys, count what was
 * fetched, set Cache-Control, make it fail, and read what a verifier did about it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export type FakeIdpAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/protocol/openid-connect/certs';

/** The audience tokens carry unless a test says otherwise. */
export const FAKE_IDP_AUDIENCE = 'my-app';

export interface FakeIdpKey {
  readonly kid: string;
  readonly alg: FakeIdpAlgorithm;
  readonly privateKey: CryptoKey;
  /** As published in the JWKS: public members, `kid`, `alg` and `use: sig`. */
  readonly publicJwk: JWK;
}

/** How the provider answers: normally, 500 to everything, or never (the connection hangs). */
export type FakeIdpMode = 'up' | 'error' | 'hang';

export interface SignOptions {
  /** The key that signs; the first published key when absent. */
  readonly key?: FakeIdpKey;
  /** Merged over `{alg, typ: 'JWT', kid}`; a member set to undefined is left out (e.g. `kid`). */
  readonly header?: Readonly<Record<string, unknown>>;
  /** Seconds since the epoch that `iat` and `exp` (five minutes later) count from; now when absent. */
  readonly nowSeconds?: number;
}

export interface FakeIdp {
  /** `http://127.0.0.1:port`. */
  readonly origin: string;
  /** The `iss` of its tokens, `origin/realms/main`, as Keycloak writes it. */
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly discoveryUrl: string;
  /** Published keys, oldest first. */
  readonly keys: readonly FakeIdpKey[];
  /** Requests answered (whatever the mode), by document. */
  readonly fetches: { jwks: number; discovery: number };
  /** Members appended to the published JWKS as they are, to publish keys a verifier must skip. */
  readonly extraJwks: unknown[];
  /** Sent with the JWKS when set. */
  cacheControl: string | undefined;
  mode: FakeIdpMode;
  /** The `issuer` its OpenID configuration names; its own issuer unless a test changes it. */
  discoveryIssuer: string;
  /** Replaces the whole JWKS body when set, e.g. to serve an oversized document. */
  jwksBody: string | undefined;
  /** Generates a key of `alg` and publishes it (after the others). */
  addKey(alg: FakeIdpAlgorithm, kid?: string): Promise<FakeIdpKey>;
  /** Stops publishing the key. */
  dropKey(kid: string): void;
  /** A new key of `alg` published and the oldest of `alg` dropped, as a provider rotates. */
  rotate(alg: FakeIdpAlgorithm): Promise<FakeIdpKey>;
  /** A token with the provider's claims (`iss`, `aud`, `sub`, `iat`, `exp`, `jti`) and `claims` over them. */
  sign(claims?: Readonly<Record<string, unknown>>, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

/** A key pair of `alg`, extractable so its public half can be published. */
export async function generateFakeIdpKey(
  alg: FakeIdpAlgorithm,
  kid = `${alg.toLowerCase()}-${randomUUID()}`,
): Promise<FakeIdpKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/** Starts a provider publishing one key of each of `algorithms` (default: RS256 only). */
export async function startFakeIdp(algorithms: readonly FakeIdpAlgorithm[] = ['RS256']): Promise<FakeIdp> {
  const keys: FakeIdpKey[] = [];
  for (const alg of algorithms) keys.push(await generateFakeIdpKey(alg));
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => answer(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const idp: FakeIdp = {
    origin,
    issuer: `${origin}/realms/main`,
    jwksUrl: `${origin}${JWKS_PATH}`,
    discoveryUrl: `${origin}${OPENID_CONFIGURATION_PATH}`,
    keys,
    fetches: { jwks: 0, discovery: 0 },
    extraJwks: [],
    cacheControl: undefined,
    mode: 'up',
    discoveryIssuer: `${origin}/realms/main`,
    jwksBody: undefined,

    async addKey(alg, kid) {
      const key = await generateFakeIdpKey(alg, kid);
      keys.push(key);
      return key;
    },

    dropKey(kid) {
      const index = keys.findIndex((key) => key.kid === kid);
      if (index !== -1) keys.splice(index, 1);
    },

    async rotate(alg) {
      const oldest = keys.find((key) => key.alg === alg);
      const fresh = await idp.addKey(alg);
      if (oldest !== undefined) idp.dropKey(oldest.kid);
      return fresh;
    },

    async sign(claims = {}, options = {}) {
      const key = options.key ?? keys[0];
      if (key === undefined) throw new Error('fake IdP: no key to sign with');
      const nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1000);
      const payload = Object.fromEntries(
        Object.entries({
          iss: idp.issuer,
          aud: FAKE_IDP_AUDIENCE,
          sub: 'f1c3a6e2-0d1b-4c57-9a51-8d4cbe0c7a10',
          preferred_username: 'alice',
          iat: nowSeconds,
          exp: nowSeconds + 300,
          jti: randomUUID(),
          ...claims,
        }).filter(([, value]) => value !== undefined),
      );
      const header = Object.fromEntries(
        Object.entries({ alg: key.alg, typ: 'JWT', kid: key.kid, ...options.header }).filter(
          ([, value]) => value !== undefined,
        ),
      );
      return new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
    },

    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path === JWKS_PATH) idp.fetches.jwks += 1;
    else if (path === OPENID_CONFIGURATION_PATH) idp.fetches.discovery += 1;
    else return send(res, 404, '{}');

    if (idp.mode === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (idp.mode === 'error') return send(res, 500, '{"error":"server_error"}');
    if (path === OPENID_CONFIGURATION_PATH) {
      return send(
        res,
        200,
        JSON.stringify({
          issuer: idp.discoveryIssuer,
          jwks_uri: idp.jwksUrl,
          id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
        }),
      );
    }
    const body =
      idp.jwksBody ?? JSON.stringify({ keys: [...keys.map((key) => key.publicJwk), ...idp.extraJwks] });
    send(res, 200, body, idp.cacheControl === undefined ? {} : { 'Cache-Control': idp.cacheControl });
  }

  return idp;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}
