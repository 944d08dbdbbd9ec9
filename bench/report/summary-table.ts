/** The table printed at the end of a run: one line per server and scenario, ratios beside targets. */
import type { ServerKind } from '../scenarios/bench-servers.js';
import type { InstructionsScenario } from '../scenarios/instructions.js';
import type { MemoryResult } from '../scenarios/memory.js';
import type { PacedCondition, PacedRow } from '../scenarios/paced.js';
import type { StoreResult } from '../scenarios/store.js';
import type { ThroughputScenario } from '../scenarios/throughput.js';
import type { BenchResults } from './results.js';
import {
  INSTRUCTIONS_VS_BEFORE_BOUND,
  REDIS_VS_LOWDB_BOUND,
  type TargetId,
  type TargetResult,
} from './targets.js';
import { formatTable, type Column } from './text-table.js';

const COLUMNS: readonly Column[] = [
  { title: 'Scenario', align: 'left' },
  { title: 'Server', align: 'left' },
  { title: 'req/s', align: 'right' },
  { title: 'p50 ms', align: 'right' },
  { title: 'p99 ms', align: 'right' },
  { title: 'Ratio / figure', align: 'right' },
  { title: 'Target', align: 'left' },
  { title: 'Met', align: 'left' },
  { title: 'Notes', align: 'left' },
];

const SERVER_LABELS: Record<ServerKind, string> = {
  baseline: 'baseline proxy (no auth)',
  seed: 'seed-style (express+passport)',
  sidecar: 'auth-sidecar',
  'sidecar-redis': 'auth-sidecar, Redis store',
  'sidecar-before': 'auth-sidecar, earlier build',
};

type Row = readonly string[];

export function formatSummaryTable(results: BenchResults): string {
  const target = (id: TargetId): TargetResult => {
    const found = results.targets.find((t) => t.id === id);
    if (!found) throw new Error(`no target ${id}`);
    return found;
  };
  const redisVsLowdb = results.targets.find((t) => t.id === 'auth-get.redis-vs-lowdb');
  const vsBefore = results.targets.find((t) => t.id === 'auth-get.vs-before');
  return formatTable(COLUMNS, [
    ...throughputRows(
      results,
      'auth-get',
      '1 GET + token, role rule #18',
      [
        ['sidecar', target('auth-get.sidecar-vs-baseline'), 'vs baseline'],
        ['sidecar', target('auth-get.sidecar-vs-seed'), 'vs seed'],
        ...(vsBefore ? [['sidecar', vsBefore, 'vs earlier'] as const] : []),
        ...(redisVsLowdb ? [['sidecar-redis', redisVsLowdb, 'vs lowdb'] as const] : []),
      ],
      { 'sidecar-redis': redisNotes(results), 'sidecar-before': beforeNotes(results, 'auth-get') },
    ),
    ...redisSkippedRow(results),
    ...throughputRows(
      results,
      'cookie-get',
      '1 GET + session cookie, #18',
      [['sidecar', target('cookie-get.vs-auth-get'), 'vs token']],
      { sidecar: cookieNotes(results) },
    ),
    ...pacedRows(results, target('paced.p50-over-baseline'), target('paced.p99-over-baseline')),
    ...throughputRows(results, 'public-get', '2 public GET, no token', [], {
      'sidecar-before': beforeNotes(results, 'public-get'),
    }),
    ...instructionsRows(results, target),
    ...throughputRows(results, 'invalid-token', '3 forged token -> 401', [
      ['sidecar', target('invalid-token.vs-baseline-auth-get'), 'vs baseline #1'],
    ]),
    ...throughputRows(results, 'post-1mib', '4 POST 1 MiB + token'),
    stormRow(results, target('login-storm.p99-ratio')),
    ...(results.memory ? [memoryRow(results.memory, target('memory.growth'))] : []),
    ...(results.store ? storeRows(results.store, target('store.startup'), target('store.refresh-p99')) : []),
  ]);
}

function throughputRows(
  results: BenchResults,
  scenario: ThroughputScenario,
  title: string,
  checks: readonly (readonly [ServerKind, TargetResult, string])[] = [],
  extraNotes: Partial<Record<ServerKind, readonly string[]>> = {},
): Row[] {
  const rows = results.throughput.medians.filter((row) => row.scenario === scenario);
  const baseline = results.throughput.medians.find(
    (row) => row.scenario === scenario && row.server === 'baseline',
  );
  return rows.flatMap((row, index) => {
    const notes = [
      ...(row.megabytesPerS === undefined ? [] : [`${row.megabytesPerS.toFixed(0)} MB/s up`]),
      `rounds ${formatRate(row.minRps)}-${formatRate(row.maxRps)}`,
      `cpu ${row.serverCpuPercent}%, load gen ${row.generatorCpuPercent}%`,
      row.unexpected > 0
        ? `! ${row.unexpected} answers not ${row.expectedStatus}`
        : `all ${row.expectedStatus}`,
      ...(extraNotes[row.server] ?? []),
    ].join('; ');
    const mine = checks.filter(([server]) => server === row.server);
    const plainRatio =
      mine.length === 0 && baseline && row.server !== 'baseline'
        ? `${(row.rps / baseline.rps).toFixed(2)}x vs baseline`
        : '';
    const first: Row = [
      index === 0 ? title : '',
      SERVER_LABELS[row.server],
      ...rateAndLatency(row),
      ...(mine[0] ? checkCells(mine[0][1], mine[0][2]) : [plainRatio, '', '']),
      notes,
    ];
    return [
      first,
      ...mine.slice(1).map(([, check, label]) => ['', '', '', '', '', ...checkCells(check, label), '']),
    ];
  });
}

/** Per-round ratios and the Redis commands behind the Redis-store row of scenario 1. */
function redisNotes(results: BenchResults): string[] {
  const { redis } = results;
  if ('skipped' in redis) return [];
  const commands = redis.redisCommandsDuringThroughput;
  const ratios = redis.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ');
  return [
    `figure = median of ratios by round ${ratios} (ratio of median req/s ${redis.ratioOfMedians.toFixed(2)})`,
    ...(commands === undefined
      ? []
      : [
          `${formatRate(commands)} Redis commands over ${formatRate(redis.redisSidecarRequests)} requests + warm-up`,
        ]),
  ];
}

/** The cookie's name and the per-round ratios behind the cookie row of scenario 1. */
function cookieNotes(results: BenchResults): string[] {
  const { cookie } = results;
  const ratios = cookie.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ');
  return [
    `${cookie.cookieName} from the sign-in form, a fresh one each run`,
    `figure = median of ratios by round ${ratios} (ratio of median req/s ${cookie.ratioOfMedians.toFixed(2)})`,
  ];
}

/** Which build the earlier-build row ran, and the current build's ratio to it round by round. */
function beforeNotes(results: BenchResults, scenario: ThroughputScenario): string[] {
  const { before } = results;
  const figures = before?.scenarios.find((s) => s.scenario === scenario);
  if (!before || !figures) return [];
  const ratios = figures.roundRatios.map((ratio) => ratio.toFixed(2)).join(', ');
  return [
    `${before.ref} (${before.commit.slice(0, 10)})`,
    `current / earlier ${figures.ratio.toFixed(2)}x, median of rounds ${ratios}`,
  ];
}

const INSTRUCTIONS_TITLES: Record<InstructionsScenario, string> = {
  'auth-get': '1 GET + token, instructions',
  'public-get': '2 public GET, instructions',
};

/** Scenarios 1 and 2 under callgrind: instructions per request, current build against the earlier one. */
function instructionsRows(results: BenchResults, target: (id: TargetId) => TargetResult): Row[] {
  const { instructions } = results;
  if (!instructions) return [];
  if ('skipped' in instructions) {
    return [
      [
        '1, 2 instructions / request',
        SERVER_LABELS.sidecar,
        '',
        '',
        '',
        'vs earlier -',
        `<= ${INSTRUCTIONS_VS_BEFORE_BOUND}x`,
        'skipped',
        instructions.skipped,
      ],
    ];
  }
  const counts = (perRequest: number, build: 'current' | 'before', scenario: InstructionsScenario) => {
    const run = instructions.runs.find((r) => r.scenario === scenario && r.build === build);
    const answers = !run ? '' : run.unexpected > 0 ? `; ! ${run.unexpected} not 200` : '; all 200';
    return `${formatRate(perRequest)} instructions/request over ${formatRate(run?.requests ?? 0)}${answers}`;
  };
  return instructions.scenarios.flatMap((figures): Row[] => [
    [
      INSTRUCTIONS_TITLES[figures.scenario],
      SERVER_LABELS.sidecar,
      '',
      '',
      '',
      ...checkCells(target(`${figures.scenario}.instructions-vs-before`), 'vs earlier'),
      `${counts(figures.currentPerRequest, 'current', figures.scenario)}; callgrind, after ` +
        `${formatRate(instructions.warmupRequests)} warm-up at ${instructions.connections} connections`,
    ],
    [
      '',
      SERVER_LABELS['sidecar-before'],
      '',
      '',
      '',
      '',
      '',
      '',
      `${counts(figures.beforePerRequest, 'before', figures.scenario)}; ` +
        `${instructions.ref} (${instructions.commit.slice(0, 10)})`,
    ],
  ]);
}

function redisSkippedRow(results: BenchResults): Row[] {
  const { redis } = results;
  if (!('skipped' in redis)) return [];
  return [
    [
      '',
      SERVER_LABELS['sidecar-redis'],
      '',
      '',
      '',
      'vs lowdb -',
      `>= ${REDIS_VS_LOWDB_BOUND}x`,
      'skipped',
      redis.skipped,
    ],
  ];
}

function pacedRows(results: BenchResults, p50: TargetResult, p99: TargetResult): Row[] {
  const row = (condition: PacedCondition) => results.paced.medians.find((r) => r.condition === condition);
  const baseline = row('baseline');
  const sidecar = row('sidecar');
  if (!baseline || !sidecar) return [];
  const title = `1 same, paced ${results.settings.paced.ratePerS} req/s`;
  return [
    [title, SERVER_LABELS.baseline, ...rateAndLatency(baseline), '', '', '', 'median of rounds'],
    ['', SERVER_LABELS.sidecar, ...rateAndLatency(sidecar), ...checkCells(p50, 'p50', true), ''],
    ['', '', '', '', '', ...checkCells(p99, 'p99', true), ''],
    ...pacedRedisRow(row('sidecar-redis'), sidecar),
  ];
}

function pacedRedisRow(redis: PacedRow | undefined, lowdb: PacedRow): Row[] {
  if (!redis) return [];
  const signed = (ms: number): string => `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
  return [
    [
      '',
      SERVER_LABELS['sidecar-redis'],
      ...rateAndLatency(redis),
      '',
      '',
      '',
      `vs lowdb: p50 ${signed(redis.p50 - lowdb.p50)} ms, p99 ${signed(redis.p99 - lowdb.p99)} ms` +
        (redis.unexpected > 0 ? `; ! ${redis.unexpected} answers not 200` : ''),
    ],
  ];
}

function stormRow(results: BenchResults, ratio: TargetResult): Row {
  const stormed = results.paced.medians.find((r) => r.condition === 'sidecar-under-login-storm');
  const storm = results.paced.loginStorm;
  const counts = storm.statusCounts;
  const other = Object.entries(counts)
    .filter(([status]) => status !== '200' && status !== '503')
    .reduce((sum, [, count]) => sum + count, 0);
  return [
    `5 #1 paced + ${results.settings.storm.concurrency} login loops`,
    SERVER_LABELS.sidecar,
    stormed ? formatRate(stormed.rps) : '',
    stormed ? stormed.p50.toFixed(2) : '',
    stormed ? stormed.p99.toFixed(2) : '',
    ...checkCells(ratio, 'p99 vs calm'),
    `logins: ${counts['200'] ?? 0} ok, ${counts['503'] ?? 0} busy(503), ${other + storm.errors} other in ${storm.seconds.toFixed(1)} s`,
  ];
}

function memoryRow(memory: MemoryResult, growth: TargetResult): Row {
  const path = memory.checkpoints.map((checkpoint) => checkpoint.rssMb.toFixed(0)).join(' -> ');
  return [
    `6 RSS over ${formatRate(memory.requests)} requests`,
    `${SERVER_LABELS.sidecar} (fresh)`,
    formatRate(memory.rps),
    '',
    '',
    ...checkCells(growth, 'growth'),
    `RSS idle ${memory.rssAtStartMb.toFixed(0)}, warm ${memory.rssAfterWarmupMb.toFixed(0)} -> ${path} MB`,
  ];
}

function storeRows(store: StoreResult, startup: TargetResult, refresh: TargetResult): Row[] {
  const users = formatRate(store.users);
  const sequential = store.sequentialRefresh;
  const concurrent = store.concurrentRefresh;
  return [
    [
      `7a start-up, ${users} users`,
      SERVER_LABELS.sidecar,
      '',
      '',
      '',
      ...checkCells(startup, 'to ready'),
      `starts: ${store.startupMs.map((ms) => ms.toFixed(0)).join(', ')} ms; file ${store.storeFileMb.toFixed(1)} MB`,
    ],
    [
      `7b ${sequential.calls} refreshes in a row`,
      SERVER_LABELS.sidecar,
      '',
      sequential.latency.p50.toFixed(2),
      sequential.latency.p99.toFixed(2),
      ...checkCells(refresh, 'p99'),
      `${sequential.fileWrites} file writes`,
    ],
    [
      `7c ${concurrent.calls} refreshes at once`,
      SERVER_LABELS.sidecar,
      '',
      concurrent.latency.p50.toFixed(2),
      concurrent.latency.p99.toFixed(2),
      `${concurrent.totalMs.toFixed(1)} ms all`,
      '',
      '',
      `${concurrent.fileWrites} file writes for ${concurrent.calls} rotations`,
    ],
  ];
}

/** The figure, target and verdict cells; `signed` for a difference, which shows its + sign. */
function checkCells(check: TargetResult, label: string, signed = false): [string, string, string] {
  const sign = signed && check.measured >= 0 ? '+' : '';
  const figure = `${label} ${sign}${check.measured.toFixed(2)}${check.unit === 'x' ? 'x' : ` ${check.unit}`}`;
  return [
    figure,
    `${check.target}${check.unit === 'x' ? 'x' : ` ${check.unit}`}`,
    check.met ? 'met' : check.clean ? 'MISSED' : 'MISSED (!)',
  ];
}

function formatRate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** The req/s, p50 ms and p99 ms cells of a row. */
function rateAndLatency(row: { rps: number; p50: number; p99: number }): string[] {
  return [formatRate(row.rps), row.p50.toFixed(2), row.p99.toFixed(2)];
}
