/**
 * The peer watch judges the first PEER_SAMPLE requests once: one or two untrusted addresses give
 * one warning; a trusted hop or a third address end the watch without one; probes do not count.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPeerWatch, PEER_SAMPLE } from '../../src/http/peer-watch.js';
import { createLogger } from '../../src/log/logger.js';
import { LogCapture } from '../helpers/log-capture.js';

type Request = readonly [peer: string, trusted: boolean, path: string];

function warningsAfter(requests: readonly Request[]): Record<string, unknown>[] {
  const logs = new LogCapture();
  const watch = createPeerWatch(createLogger({ level: 'info', destination: logs }));
  for (const [peer, trusted, path] of requests) watch(peer, trusted, path);
  return logs.entries.filter((line) => line.event === 'trust_proxy.unlisted_proxy');
}

const repeat = (count: number, request: Request): Request[] => Array.from({ length: count }, () => request);

describe('peer watch', () => {
  const cases: readonly { name: string; requests: Request[]; warnings: number }[] = [
    {
      name: 'warns once after PEER_SAMPLE requests from one untrusted address, however many follow',
      requests: repeat(PEER_SAMPLE * 3, ['10.0.0.5', false, '/api/x']),
      warnings: 1,
    },
    {
      name: 'says nothing before the sample is complete',
      requests: repeat(PEER_SAMPLE - 1, ['10.0.0.5', false, '/api/x']),
      warnings: 0,
    },
    {
      name: 'warns for two untrusted addresses',
      requests: [
        ...repeat(PEER_SAMPLE / 2, ['10.0.0.5', false, '/api/x']),
        ...repeat(PEER_SAMPLE / 2, ['10.0.0.6', false, '/api/x']),
      ],
      warnings: 1,
    },
    {
      name: 'stops at a third address without a warning',
      requests: [
        ['10.0.0.5', false, '/api/x'],
        ['10.0.0.6', false, '/api/x'],
        ['10.0.0.7', false, '/api/x'],
        ...repeat(PEER_SAMPLE * 2, ['10.0.0.5', false, '/api/x']),
      ],
      warnings: 0,
    },
    {
      name: 'stops at a trusted hop without a warning',
      requests: [['10.0.0.5', true, '/api/x'], ...repeat(PEER_SAMPLE * 2, ['10.0.0.6', false, '/api/x'])],
      warnings: 0,
    },
    {
      name: 'does not count health probes from other addresses, nor stop for them',
      requests: [
        ['10.1.0.1', false, '/healthz'],
        ['10.1.0.2', false, '/readyz'],
        ['10.1.0.3', false, '/healthz'],
        ...repeat(PEER_SAMPLE, ['10.0.0.5', false, '/api/x']),
      ],
      warnings: 1,
    },
  ];
  for (const { name, requests, warnings } of cases) {
    it(name, () => {
      assert.equal(warningsAfter(requests).length, warnings);
    });
  }
});
