import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';

/**
 * The same claims as `token`, signed with another secret: well formed, unexpired, and refused
 * only by its signature, the most work an invalid token can cost the sidecar.
 */
export function forgeToken(token: string): string {
  const claims = jwt.decode(token);
  if (claims === null || typeof claims === 'string') throw new Error('the access token is not a JWT');
  return jwt.sign(claims, randomBytes(48), { algorithm: 'HS256' });
}
