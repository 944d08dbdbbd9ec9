/** How long to wait after a 503, from its Retry-After in seconds; at most a second, so runs stay short. */
export function retryAfterMs(header: string | string[] | undefined): number {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 1) * 1000 : 100;
}
