/** The path a proxy in front asks whether a request may pass (forward-auth). */
export const FORWARD_AUTH_PATH = '/auth/verify';

/** Paths the sidecar answers itself, compared as rules compare paths; they are never forwarded. */
export function isOwnPath(path: string): boolean {
  return path === '/healthz' || path === '/readyz' || path === '/auth' || path.startsWith('/auth/');
}
