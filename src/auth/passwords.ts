import bcrypt from 'bcryptjs';

/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated. */
export const MAX_PASSWORD_BYTES = 72;

export interface PasswordPolicy {
  readonly minLength: number;
}

/** Why a new password is refused, or undefined when it is acceptable. */
export function findPasswordProblem(password: string, policy: PasswordPolicy): string | undefined {
  if ([...password].length < policy.minLength)
    return `password must be at least ${policy.minLength} characters`;
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    return `password must be at most ${MAX_PASSWORD_BYTES} bytes`;
  }
  return undefined;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Compares against `hash`, or against a dummy hash of the same cost when there is no user. */
  verify(password: string, hash: string | undefined): Promise<boolean>;
}

export function createPasswordHasher(options: { readonly cost: number }): PasswordHasher {
  if (!Number.isInteger(options.cost) || options.cost < 4 || options.cost > 31) {
    throw new TypeError('createPasswordHasher: cost must be an integer from 4 to 31');
  }
  // An unknown username costs the same work as a wrong password, so timing does not tell them apart.
  const dummyHash = bcrypt.hash('not-a-real-password', options.cost);
  return {
    hash: (password) => bcrypt.hash(password, options.cost),
    async verify(password, hash) {
      if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
      if (hash === undefined) {
        await bcrypt.compare(password, await dummyHash);
        return false;
      }
      return bcrypt.compare(password, hash);
    },
  };
}
