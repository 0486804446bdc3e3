// Servers the benchmarks start: real `framewatch serve` processes on free loopback ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A free loopback port, found by listening on 0. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/**
 * Starts `framewatch serve` with these settings (from the checkout in `cwd`, this one by
 * default) and resolves once /readyz answers 200.
 * `stop` sends SIGTERM and resolves once the process has exited.
 */
export async function startServer(env: Record<string, string>, cwd = '.'): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve'], {
    cwd,
    // MALLOC_ARENA_MAX as `npm start` and the images set it.
    env: { MALLOC_ARENA_MAX: '2', ...process.env, FRAMEWATCH_PORT: String(port), FRAMEWATCH_HOST: '127.0.0.1', FRAMEWATCH_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // Never leave a server behind, whatever ends this process.
  process.once('exit', () => child.kill('SIGKILL'));
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (tries > 300 || child.exitCode !== null) throw new Error('the server did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  };
  return { child, url, stop };
}

/** A throwaway redis-server on a free loopback port (no persistence), for the shared mode. */
export async function startRedis(dir: string): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.once('exit', () => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('Ready to accept connections') && resolve());
    child.once('exit', () => reject(new Error('redis-server did not start (apt-get install redis-server)')));
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}
