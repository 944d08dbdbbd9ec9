import proxyAddr from 'proxy-addr';

/** Whether a peer address is a trusted hop (`trustProxy`); proxy-addr's compiled form. */
export type ProxyTrust = (address: string, hop: number) => boolean;

export function createProxyTrust(trusted: readonly string[]): ProxyTrust {
  return proxyAddr.compile([...trusted]);
}
