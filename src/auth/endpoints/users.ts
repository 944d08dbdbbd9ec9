import type { Request, RequestHandler, Response } from 'express';
import { ProblemError } from '../../errors.js';
import type { UserRecord } from '../../store/types.js';
import { auditRequest } from './audit-request.js';
import type { AuthContext } from './deps.js';
import { requireCaller } from './require-caller.js';
import { parseBody, userChangesBody } from '../schemas/requests.js';

/** The role that may manage users. */
export const ADMIN_ROLE = 'admin';

/** A user as the admin endpoints show it: never the password hash. */
export interface AdminUserView {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly email?: string;
}

function adminView(user: UserRecord): AdminUserView {
  const { id, username, roles, disabled, createdAt, email } = user;
  return { id, username, roles, disabled, createdAt, ...(email === undefined ? {} : { email }) };
}

/** The caller, who must hold the admin role now (the store's roles, not the token's). */
async function requireAdmin(deps: AuthContext, req: Request, res: Response): Promise<UserRecord> {
  const { user } = await requireCaller(deps, req, res);
  if (!user.roles.includes(ADMIN_ROLE))
    throw new ProblemError('forbidden', 'Managing users needs the admin role.');
  return user;
}

function userIdParam(req: Request): string {
  const id = req.params.id;
  if (typeof id !== 'string') throw new ProblemError('not_found', 'There is no such user.');
  return id;
}

/** GET /auth/users → 200 {users}. */
export function createListUsersHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    await requireAdmin(deps, req, res);
    const users = await deps.store.users.list();
    res.set('Cache-Control', 'no-store').json({ users: users.map(adminView) });
  };
}

/**
 * PATCH /auth/users/:id {roles?, disabled?} → 200 {user}. The user's access tokens are superseded
 * (a refresh brings the new roles); disabling also ends every refresh-token family.
 */
export function createUpdateUserHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    const admin = await requireAdmin(deps, req, res);
    const changes = parseBody(userChangesBody, req.body);
    const targetUserId = userIdParam(req);
    const updated = await deps.store.users.update(targetUserId, changes, {
      endSessions: changes.disabled === true,
    });
    if (!updated) throw new ProblemError('not_found', 'There is no such user.');
    auditRequest(deps, req, { event: 'auth.user.update', userId: admin.id, targetUserId, ...changes });
    res.set('Cache-Control', 'no-store').json({ user: adminView(updated) });
  };
}

/** DELETE /auth/users/:id → 204; the user's tokens are refused at once. */
export function createDeleteUserHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    const admin = await requireAdmin(deps, req, res);
    const targetUserId = userIdParam(req);
    if (!(await deps.store.users.delete(targetUserId)))
      throw new ProblemError('not_found', 'There is no such user.');
    auditRequest(deps, req, { event: 'auth.user.delete', userId: admin.id, targetUserId });
    res.status(204).end();
  };
}
