import { z } from 'zod';
import { ROLE_NAME } from '../../config/schema.js';
import { ProblemError } from '../../errors.js';

/*
 * Request bodies of the auth endpoints. Passwords and usernames are checked further by policy.
 * The descriptions are what the OpenAPI document (openapi.ts) shows for each field.
 */

const USERNAME_RULE =
  'NFKC-normalized and lower-cased, then 3 to 64 characters of a-z, 0-9, ".", "_" or "-".';
const NEW_PASSWORD_RULE = 'At least `passwords.minLength` characters and at most 72 bytes in UTF-8.';

export const registerBody = z.object({
  username: z.string({ error: 'expected a string' }).max(256).describe(USERNAME_RULE),
  password: z.string({ error: 'expected a string' }).max(1024).describe(NEW_PASSWORD_RULE),
  email: z.email({ error: 'expected an email address' }).max(254).optional(),
});

/** Login reads these from the JSON body only; an empty one is 400, never looked up elsewhere. */
export const loginBody = z.object({
  username: z
    .string({ error: 'expected a string' })
    .min(1, { error: 'expected a non-empty string' })
    .max(256)
    .describe('Matched after NFKC normalization and lower-casing, as at registration.'),
  password: z
    .string({ error: 'expected a string' })
    .min(1, { error: 'expected a non-empty string' })
    .max(1024),
});

export const refreshBody = z.object({
  refreshToken: z
    .string({ error: 'expected a string' })
    .min(1)
    .max(512)
    .describe('The refresh token of the last token response; it stops working once used.'),
});

export const logoutBody = z
  .object({
    refreshToken: z
      .string({ error: 'expected a string' })
      .min(1)
      .max(512)
      .optional()
      .describe("A refresh token of the caller's, which stops working with its whole family."),
  })
  .optional();

export const passwordChangeBody = z.object({
  currentPassword: z.string({ error: 'expected a string' }).max(1024),
  newPassword: z.string({ error: 'expected a string' }).max(1024).describe(NEW_PASSWORD_RULE),
});

/** Admin changes to a user; unknown keys are refused so a typo cannot pass for a no-op. */
export const userChangesBody = z
  .strictObject({
    roles: z
      .array(z.string().regex(ROLE_NAME, { error: 'expected a role name' }), {
        error: 'expected an array of strings',
      })
      .max(64)
      .optional()
      .describe("Replaces all of the user's roles."),
    disabled: z
      .boolean({ error: 'expected true or false' })
      .optional()
      .describe('A disabled user cannot log in, and every token of theirs is refused.'),
  })
  .refine((changes) => changes.roles !== undefined || changes.disabled !== undefined, {
    error: 'expected roles or disabled',
  })
  // The refine has no JSON Schema form; with only these two keys allowed, this says the same.
  .meta({ minProperties: 1 });

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
