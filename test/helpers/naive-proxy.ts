import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import jwt from 'jsonwebtoken';
import { TEST_JWT_SECRET } from './sidecar.js';

/**
 * The setup the attack suite measures the sidecar against: express 5 + http-proxy-middleware with
 * jsonwebtoken, written the way tutorials write it. Same secret, same rules in spirit: /public is
 * open, /admin needs the admin role, /api needs a user, anything else is open. Each attack in
 * test/security is shown to get through this, then shown not to get through the sidecar.
 */
export async function startNaiveProxy(upstreamUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.use((req, res, next) => {
    const header = req.headers.authorization;
    let user: { username: string; roles: string[] } | undefined;
    if (header?.startsWith('Bearer ')) {
      try {
        user = jwt.verify(header.slice(7), TEST_JWT_SECRET) as { username: string; roles: string[] };
      } catch {
        res.status(401).json({ error: 'invalid token' });
        return;
      }
    }
    if (req.path.startsWith('/admin') && !user?.roles.includes('admin')) {
      res.status(user ? 403 : 401).json({ error: 'forbidden' });
      return;
    }
    if (req.path.startsWith('/api') && !user) {
      res.status(401).json({ error: 'unauthenticated' });
      return;
    }
    if (user) req.headers['x-user'] = user.username;
    next();
  });
  app.use(createProxyMiddleware({ target: upstreamUrl, xfwd: true }));
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
