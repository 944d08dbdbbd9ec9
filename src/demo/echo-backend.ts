import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the echo backend saw of one request. */
export interface EchoedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly bodyBytes: number;
}

/**
 * A small backend for the demo and the container example: it answers every request with a
 * description of what reached it, identity headers included: a short HTML page for a browser, JSON
 * for everything else (curl, `fetch()`, API clients).
 */
export function createEchoBackend(): Server {
  return createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const echoed: EchoedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyBytes,
      };
      if (prefersHtml(req.headers.accept)) {
        const body = renderEchoPage(echoed);
        res.writeHead(200, { ...HTML_HEADERS, 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      const body = JSON.stringify(echoed, null, 2);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
}

export async function listenEchoBackend(
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; url: string }> {
  const server = createEchoBackend();
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}

/**
 * True when `accept` ranks text/html above application/json (RFC 9110 §12.5.1): named with a
 * higher q, or with the same q and listed first. Wildcards alone (curl, `fetch()`) get JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let html: { q: number; at: number } | undefined;
  let json: { q: number; at: number } | undefined;
  accept.split(',').forEach((range, at) => {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const qParameter = parameters.find((parameter) => parameter.startsWith('q='));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    if (type === 'text/html') html ??= { q: Number.isNaN(q) ? 0 : q, at };
    if (type === 'application/json') json ??= { q: Number.isNaN(q) ? 0 : q, at };
  });
  if (html === undefined || html.q <= 0) return false;
  return json === undefined || html.q > json.q || (html.q === json.q && html.at < json.at);
}

/** The identity headers the sidecar sets with its default `identity` config. */
const IDENTITY_HEADERS = ['X-User', 'X-User-Id', 'X-User-Roles'] as const;

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
th{text-align:left;padding-right:1rem}td{font-family:ui-monospace,monospace}`;

/** No script at all; the one style block is allowed by its hash, nothing else is. */
const HTML_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

function renderEchoPage({ method, url, headers }: EchoedRequest): string {
  const rows: [string, string | string[] | undefined][] = [
    ['Method', method],
    ['Path', url],
    ...IDENTITY_HEADERS.map((name): [string, string | string[] | undefined] => [
      name,
      headers[name.toLowerCase()],
    ]),
  ];
  const cells = rows
    .map(([name, value]) => {
      const shown = value === undefined ? '(none)' : [value].flat().join(', ');
      return `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(shown)}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Echo backend</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Echo backend</h1>
<p>This is the backend behind auth-sidecar. It received this request:</p>
<table>
${cells}
</table>
<p><a href="/auth/account">Your account</a> (sign out there)</p>
</body>
</html>
`;
}
