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

/** Where bcrypt runs: a worker pool in the server, inline in one-off commands. */
export interface BcryptEngine {
  hash(password: string, cost: number): Promise<string>;
  compare(password: string, hash: string): Promise<boolean>;
}

/** bcrypt on the calling thread, for commands that serve no traffic. */
export const inlineBcrypt: BcryptEngine = {
  hash: (password, cost) => bcrypt.hash(password, cost),
  compare: (password, hash) => bcrypt.compare(password, hash),
};

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Compares against `hash`, or against a dummy hash of the same cost when there is no user. */
  verify(password: string, hash: string | undefined): Promise<boolean>;
}

export interface PasswordHasherOptions {
  readonly cost: number;
  readonly engine: BcryptEngine;
}

export function createPasswordHasher({ cost, engine }: PasswordHasherOptions): PasswordHasher {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new TypeError('createPasswordHasher: cost must be an integer from 4 to 31');
  }
  // An unknown username costs the same work as a wrong password, so timing does not tell them apart.
  let dummyHash: Promise<string> | undefined;
  const dummy = (): Promise<string> => {
    dummyHash ??= engine.hash('not-a-real-password', cost).catch((err: unknown) => {
      dummyHash = undefined;
      throw err;
    });
    return dummyHash;
  };
  return {
    hash: (password) => engine.hash(password, cost),
    async verify(password, hash) {
      if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
      if (hash === undefined) {
        await engine.compare(password, await dummy());
        return false;
      }
      return engine.compare(password, hash);
    },
  };
}
