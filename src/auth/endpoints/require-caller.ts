import type { Request, Response } from 'express';
import { ProblemError } from '../../errors.js';
import { noteUser } from '../../http/request-context.js';
import type { AccessClaims } from '../../identity.js';
import type { UserRecord } from '../../store/types.js';
import { authenticateWith } from './authenticate-with.js';
import type { AuthContext } from './deps.js';

export interface Caller {
  readonly user: UserRecord;
  /** The claims of the access token the caller presented. */
  readonly claims: AccessClaims;
}

/** The caller of an endpoint that needs a bearer token, through passport; 401 otherwise. */
export async function requireCaller(deps: AuthContext, req: Request, res: Response): Promise<Caller> {
  const { user, info } = await authenticateWith(deps.passport, 'bearer', req, res);
  if (user) {
    noteUser(req, user.id);
    return { user, claims: info as AccessClaims };
  }
  // RFC 6750 §3.1: no credentials at all get a bare challenge.
  if (req.headers.authorization === undefined) {
    throw new ProblemError('unauthenticated', 'This endpoint requires a bearer token.', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  throw new ProblemError('invalid_token', 'The access token is not valid.', {
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  });
}
