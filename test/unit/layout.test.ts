/**
 * The source tree's rooms: no folder imports a folder that imports it back, directly or around a
 * loop, so that each folder can be read (and changed) knowing only the folders below it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/cli-process.js';

const SRC = join(REPO_ROOT, 'src');
const RELATIVE_IMPORT =
  /(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** A file's room: its folder under src/; a file directly in src/ is a room of its own. */
function roomOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 ? (parts[0] ?? file) : parts.slice(0, -1).join('/');
}

/** Room → the rooms it imports, each with one import that shows it. */
function roomImports(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(SRC)) {
    const from = roomOf(file);
    const imports = graph.get(from) ?? new Map<string, string>();
    graph.set(from, imports);
    for (const match of readFileSync(file, 'utf8').matchAll(RELATIVE_IMPORT)) {
      const specifier = match[1] ?? match[2] ?? '';
      const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
      const to = roomOf(target);
      if (to !== from && !imports.has(to)) {
        imports.set(to, `${relative(SRC, file)} imports ${relative(SRC, target)}`);
      }
    }
  }
  return graph;
}

/** Every loop among the rooms, each written as the imports that close it. */
function loops(graph: Map<string, Map<string, string>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (room: string) => {
    state.set(room, 'open');
    path.push(room);
    for (const next of graph.get(room)?.keys() ?? []) {
      if (state.get(next) === 'open') {
        const loop = [...path.slice(path.indexOf(next)), next];
        found.push(loop.slice(1).map((to, i) => graph.get(loop[i] ?? '')?.get(to) ?? to));
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    path.pop();
    state.set(room, 'done');
  };
  for (const room of graph.keys()) if (!state.has(room)) visit(room);
  return found;
}

describe('source layout', () => {
  const graph = roomImports();

  it('reads the rooms it checks (the ways in, the pipeline, the store)', () => {
    for (const room of ['front', 'pipeline', 'store', 'http', 'auth/endpoints']) {
      assert.ok(graph.has(room), `src/${room} is missing`);
    }
  });

  it('has no folder that imports a folder importing it back', () => {
    assert.deepEqual(loops(graph), []);
  });

  it('keeps the store, the pipeline and the proxy apart, and HTTP out of the store', () => {
    const imports = (from: string, to: string) => graph.get(from)?.has(to) ?? false;
    for (const [from, to] of [
      ['pipeline', 'store'],
      ['pipeline', 'proxy'],
      ['store', 'pipeline'],
      ['store', 'proxy'],
      ['store', 'http'],
      ['store', 'tokens'],
      ['proxy', 'pipeline'],
      ['proxy', 'store'],
    ] as const) {
      assert.equal(imports(from, to), false, `src/${from} imports src/${to}`);
    }
  });
});
