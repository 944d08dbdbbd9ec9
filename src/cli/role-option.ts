import { ROLE_NAME } from '../config/schema.js';

/** The usage error for the first `--role` value that is not a role name, or undefined. */
export function invalidRoleOption(roles: readonly string[]): string | undefined {
  const invalid = roles.find((role) => !ROLE_NAME.test(role));
  return invalid === undefined
    ? undefined
    : `auth-sidecar: --role ${invalid}: expected letters, digits and . _ : / - (no commas or spaces)`;
}
