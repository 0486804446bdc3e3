import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The rule that keeps docs/ARCHITECTURE.md true: imports only go down this table (a layer may
 * import any layer below it, never one beside or above it), and no chain of imports between
 * files comes back to where it started. A folder's files import each other freely, as long as
 * they make no cycle. The review page (web) may import only shared, and nothing imports it.
 */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['cli'],
  ['http'],
  ['datasets', 'tuning'],
  ['pipeline', 'exporter'],
  ['review'],
  ['registry', 'media'],
  ['runtime', 'tasks'],
  ['preprocessing'],
  ['config', 'errors', 'logging', 'metrics'],
  ['shared'],
];
const rank = new Map(LAYERS.flatMap((names, i) => names.map((name) => [name, i] as const)));

const ROOTS = ['src', 'preprocessing'];
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The project files a source file imports (relative specifiers only), as paths from the root. */
export function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(IMPORT_RE)].map((m) => m[1] ?? m[2] ?? m[3]).filter((s) => s.startsWith('.'));
  return specifiers.map((s) => relative('.', resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
}

/** The layer a file belongs to: its folder under src/, or preprocessing. */
const layerOf = (file: string) => (file.startsWith('preprocessing/') ? 'preprocessing' : file.split('/')[1]);

const files = ROOTS.flatMap(sourceFiles);
const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))]));

/** Every import from one layer to another that the table does not allow. */
function upwardImports(): string[] {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    for (const target of targets) {
      const to = layerOf(target);
      if (from === to) continue;
      const allowed = from === 'web' ? to === 'shared' : to !== 'web' && rank.has(from) && rank.has(to) && rank.get(to)! > rank.get(from)!;
      if (!allowed) wrong.push(`${file} -> ${target} (${from} may not import ${to})`);
    }
  }
  return wrong;
}

/** Import cycles between files, each as the chain that closes it. */
function cycles(): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe('architecture: the import rule of docs/ARCHITECTURE.md', () => {
  it('knows every layer under src/', () => {
    const unknown = [...new Set(files.map(layerOf))].filter((layer) => layer !== 'web' && layer !== 'types' && !rank.has(layer));
    expect(unknown).toEqual([]);
  });

  it('finds the imports of a file, whatever their form', () => {
    const text = "import { a } from './a.js';\nimport type { B } from '../b/index.js';\nexport * from './c.js';\nimport './d.js';\nconst e = await import('./e.js');\nimport x from 'zod';";
    expect(importsOf('src/pipeline/x.ts', text)).toEqual(['src/pipeline/a.ts', 'src/b/index.ts', 'src/pipeline/c.ts', 'src/pipeline/d.ts', 'src/pipeline/e.ts']);
  });

  it('has no import that runs upward or sideways between layers', () => {
    expect(upwardImports()).toEqual([]);
  });

  it('has no import cycle between files', () => {
    expect(cycles().map((chain) => chain.join(' -> '))).toEqual([]);
  });
});
