/**
 * Scenario 1 with a browser's session cookie instead of the bearer token: the same sidecar, rule
 * and path, the cookie got from the sign-in form as a browser gets it. Its throughput rounds run
 * back to back with the bearer case (throughput.ts), so each round's ratio compares the two at the
 * same moment of the machine.
 */
import { median, round2 } from '../lib/stats.js';
import type { ThroughputRun } from './throughput.js';

/** The `cookie` part of bench/results.json. */
export interface CookieComparison {
  /** The session cookie's name as the sidecar set it (`__Host-` with `browser.cookie.secure`). */
  readonly cookieName: string;
  /** Median req/s over the rounds, authenticated GET on the role rule. */
  readonly bearerRps: number;
  readonly cookieRps: number;
  /** What the target checks: the median over the rounds of cookie req/s / bearer req/s. */
  readonly ratio: number;
  /** Each round's ratio. */
  readonly roundRatios: readonly number[];
  /** cookieRps / bearerRps, shown for comparison: it keeps the drift between rounds. */
  readonly ratioOfMedians: number;
  readonly rounds: number;
}

/** The name of a `name=value` cookie pair. */
export function cookieNameOf(pair: string): string {
  return pair.slice(0, pair.indexOf('='));
}

export function compareCookieWithBearer(
  cookieName: string,
  throughputRuns: readonly ThroughputRun[],
): CookieComparison {
  const runsOf = (scenario: 'auth-get' | 'cookie-get') =>
    throughputRuns.filter((run) => run.scenario === scenario && run.server === 'sidecar');
  const bearer = runsOf('auth-get');
  const cookie = runsOf('cookie-get');
  const bearerRps = median(bearer.map((run) => run.rps));
  const cookieRps = median(cookie.map((run) => run.rps));
  const roundRatios = cookie.flatMap((run) => {
    const partner = bearer.find((other) => other.round === run.round);
    return partner ? [run.rps / partner.rps] : [];
  });
  return {
    cookieName,
    bearerRps: round2(bearerRps),
    cookieRps: round2(cookieRps),
    ratio: round2(median(roundRatios)),
    roundRatios: roundRatios.map(round2),
    ratioOfMedians: round2(cookieRps / bearerRps),
    rounds: cookie.length,
  };
}
