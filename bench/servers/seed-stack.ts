/**
 * The naive stack: express 5, passport-jwt on every request with the secret as a plain string,
 * then http-proxy-middleware. It accepts the sidecar's tokens (same secret, issuer and audience).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { announcePort } from '../lib/rpc.js';

const upstreamUrl = process.argv[2];
const secret = process.env.JWT_SECRET;
if (upstreamUrl === undefined || secret === undefined) {
  throw new Error('usage: JWT_SECRET=... seed-stack.js <upstream url>');
}

interface SeedUser {
  readonly sub: string;
  readonly username: string;
}

passport.use(
  new JwtStrategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: secret,
      algorithms: ['HS256'],
      issuer: 'auth-sidecar',
      audience: 'upstream',
    },
    (payload: SeedUser, done: (err: unknown, user?: SeedUser) => void) => done(null, payload),
  ),
);

const app = express();
app.use(passport.initialize());
app.use(passport.authenticate('jwt', { session: false }));
app.use(
  createProxyMiddleware({
    target: upstreamUrl,
    on: {
      proxyReq(proxyReq, req) {
        const user = (req as express.Request).user as SeedUser | undefined;
        if (user) proxyReq.setHeader('x-user', user.username);
      },
    },
  }),
);

const server = app.listen(0, '127.0.0.1', () => announcePort((server.address() as AddressInfo).port));
