import type passport from 'passport';
import type { Config } from '../../config/schema.js';
import type { BrowserSessions } from '../../browser/browser-sessions.js';
import type { TokenVerdict } from '../../identity.js';
import type { Audit } from '../../log/audit.js';
import type { Logger } from '../../log/logger.js';
import type { Store } from '../../store/types.js';
import type { AccessTokens } from '../../tokens/access-token.js';
import type { PasswordHasher } from '../passwords/password-hasher.js';
import type { AuthLimiters } from './rate-limits.js';

/** What the auth endpoints need; built by the composition root. */
export interface AuthDeps {
  readonly config: Config;
  readonly store: Store;
  readonly accessTokens: AccessTokens;
  /** Token and session in one check; the proxy path uses the very same function. */
  readonly verifySession: (token: string) => TokenVerdict;
  /** Browser sign-in; undefined when it is off. */
  readonly browser: BrowserSessions | undefined;
  readonly passwords: PasswordHasher;
  readonly limiters: AuthLimiters;
  readonly audit: Audit;
  readonly logger: Logger;
  readonly now: () => number;
  /** proxy-addr's trust function for `trustProxy`; express uses it for req.ip. */
  readonly isTrustedProxy: (address: string, hop: number) => boolean;
}

/** AuthDeps plus the passport instance whose strategies are built from them. */
export interface AuthContext extends AuthDeps {
  readonly passport: passport.Authenticator;
}
