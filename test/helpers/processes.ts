import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/** A framewatch server in its own process (`node dist/src/cli/main.js serve`), as deployed. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts one and resolves once it listens and its models are ready. */
export async function spawnServer(env: Record<string, string>, o: { readyModels?: number } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'serve'], {
    env: { ...process.env, FRAMEWATCH_PORT: '0', FRAMEWATCH_HOST: '127.0.0.1', FRAMEWATCH_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  const onData = (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        // not a log line
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    if (child.exitCode !== null) throw new Error(`server exited at start: ${JSON.stringify(logs.slice(-5))}`);
    if (Date.now() > deadline) throw new Error('server did not start within 60 s');
    url = logs.find((l) => l.msg === 'listening')?.url as string | undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
  while (logs.filter((l) => l.msg === 'model version ready').length < (o.readyModels ?? 1)) {
    if (Date.now() > deadline) throw new Error('no model became ready within 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url,
    logs,
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The processes whose command line names `text` (a temp folder: ffmpeg left running on a file in it); '' when none. */
export function processesNaming(text: string): string {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}
