import type { Authentication } from './authenticate.js';
import type { Access } from './rules.js';

export type Authorization =
  { readonly kind: 'allow' } | { readonly kind: 'unauthenticated' } | { readonly kind: 'forbidden' };

const ALLOW: Authorization = { kind: 'allow' };
const UNAUTHENTICATED: Authorization = { kind: 'unauthenticated' };
const FORBIDDEN: Authorization = { kind: 'forbidden' };

/** Whether `authentication` satisfies `access`. A rejected token only matters where a user is needed. */
export function authorize(access: Access, authentication: Authentication): Authorization {
  if (access.kind === 'public') return ALLOW;
  if (authentication.kind !== 'identified') return UNAUTHENTICATED;
  switch (access.kind) {
    case 'authenticated':
      return ALLOW;
    case 'roles':
      return authentication.identity.roles.some((role) => access.roles.has(role)) ? ALLOW : FORBIDDEN;
    case 'deny':
      return FORBIDDEN;
  }
}
