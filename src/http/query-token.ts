/** The query parameter browsers use for a WebSocket's token, since they cannot set its headers. */
const TOKEN_PARAMETER = 'access_token';

export interface TakenQueryToken {
  /** The request-target without any `access_token` parameter, every other byte as sent. */
  readonly target: string;
  /** The tokens found, percent-decoded; more than one is ambiguous and refused by the caller. */
  readonly tokens: readonly string[];
}

/** Takes `access_token` out of a request-target, so that it is neither forwarded nor logged. */
export function takeQueryToken(target: string): TakenQueryToken {
  const queryStart = target.indexOf('?');
  if (queryStart === -1) return { target, tokens: [] };
  const kept: string[] = [];
  const tokens: string[] = [];
  for (const pair of target.slice(queryStart + 1).split('&')) {
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    if (name !== TOKEN_PARAMETER) {
      kept.push(pair);
      continue;
    }
    const value = equals === -1 ? '' : pair.slice(equals + 1);
    try {
      tokens.push(decodeURIComponent(value.replaceAll('+', ' ')));
    } catch {
      tokens.push('');
    }
  }
  const path = target.slice(0, queryStart);
  return { target: kept.length === 0 ? path : `${path}?${kept.join('&')}`, tokens };
}
