import { z } from 'zod';
import { ROLE_NAME } from '../config/schema.js';
import { ProblemError } from '../errors.js';

/** Request bodies of the auth endpoints. Passwords and usernames are checked further by policy. */
export const registerBody = z.object({
  username: z.string({ error: 'expected a string' }).max(256),
  password: z.string({ error: 'expected a string' }).max(1024),
  email: z.email({ error: 'expected an email address' }).max(254).optional(),
});

export const loginBody = z.object({
  username: z.string({ error: 'expected a string' }).max(256),
  password: z.string({ error: 'expected a string' }).max(1024),
});

export const refreshBody = z.object({
  refreshToken: z.string({ error: 'expected a string' }).min(1).max(512),
});

export const logoutBody = z
  .object({ refreshToken: z.string({ error: 'expected a string' }).min(1).max(512).optional() })
  .optional();

export const passwordChangeBody = z.object({
  currentPassword: z.string({ error: 'expected a string' }).max(1024),
  newPassword: z.string({ error: 'expected a string' }).max(1024),
});

/** Admin changes to a user; unknown keys are refused so a typo cannot pass for a no-op. */
export const userChangesBody = z
  .strictObject({
    roles: z
      .array(z.string().regex(ROLE_NAME, { error: 'expected a role name' }), {
        error: 'expected an array of strings',
      })
      .max(64)
      .optional(),
    disabled: z.boolean({ error: 'expected true or false' }).optional(),
  })
  .refine((changes) => changes.roles !== undefined || changes.disabled !== undefined, {
    error: 'expected roles or disabled',
  });

/** Validates a JSON body; a failure is a 400 naming each offending field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => {
    const field = issue.path.join('.') || 'body';
    const message = issue.code === 'invalid_type' && issue.input === undefined ? 'required' : issue.message;
    return `${field}: ${message}`;
  });
  throw new ProblemError('invalid_request', details.join('; '));
}
