import { readFileSync } from 'node:fs';

/** The oldest Node the sidecar supports (what http-proxy-middleware 4 requires). */
export const MIN_NODE = { major: 22, minor: 15 } as const;

export function isSupportedNode(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > MIN_NODE.major || (major === MIN_NODE.major && minor >= MIN_NODE.minor);
}

/** The package version, read from package.json beside the build output. */
export function packageVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
