// The bundled models as the benchmarks load them, and CPU time as they count it.
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { readManifest } from '../src/registry/index.js';

/** The newest bundled version of a model (the one the server serves). */
export async function latest(name: string) {
  const version = Math.max(...(await readdir(`models/${name}`)).filter((d) => /^\d+$/.test(d)).map(Number));
  const dir = `models/${name}/${version}`;
  const { manifest } = await readManifest(dir, name, version);
  return { dir, manifest: manifest!, modelPath: `${dir}/${manifest!.file.name}` };
}

/**
 * CPU seconds of a process (this one by default) and of its children that have ended (ffmpeg
 * runs as a child: Linux adds a child's time once it is reaped), from /proc/<pid>/stat.
 */
export function cpuSeconds(pid: number | 'self' = 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14-17 of the line; 12-15 after the name.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** Runs fn and returns its result with the wall and CPU seconds it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wallS: number; cpuS: number }> {
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const value = await fn();
  return { value, wallS: (performance.now() - t0) / 1000, cpuS: cpuSeconds() - cpu0 };
}
