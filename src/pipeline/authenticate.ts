import type { Identity, TokenRejection, TokenVerdict } from '../identity.js';
import { parseBearer } from '../tokens/bearer.js';

/** Who the request says it is. Authentication never decides; authorize does. */
export type Authentication =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'identified'; readonly identity: Identity }
  | { readonly kind: 'rejected'; readonly reason: TokenRejection | 'credentials_not_bearer' };

export type VerifyAccessToken = (token: string) => TokenVerdict;

export function authenticate(
  authorization: string | readonly string[] | undefined,
  verify: VerifyAccessToken,
): Authentication {
  const credentials = parseBearer(authorization);
  switch (credentials.kind) {
    case 'none':
      return { kind: 'anonymous' };
    case 'malformed':
      return { kind: 'rejected', reason: 'credentials_not_bearer' };
    case 'token': {
      const verdict = verify(credentials.token);
      return verdict.valid
        ? { kind: 'identified', identity: verdict.identity }
        : { kind: 'rejected', reason: verdict.reason };
    }
  }
}
