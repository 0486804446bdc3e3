import { mkdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { loadConfig, type Config } from '../config/index.js';
import { createApp } from '../http/index.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { ffmpegVersion } from '../media/ffmpeg.js';
import { decodeImage } from '../media/image.js';
import { createDiskJobStore, createJobManager, type JobManager } from '../pipeline/index.js';
import { createRepository, type ModelRepository } from '../registry/index.js';
import { parseCommandArgs } from './args.js';
import { FRAMEWATCH_VERSION } from './version.js';

export const SERVE_HELP = `Usage: framewatch serve [--port N] [--host H] [--models-dir DIR]

Serves every model version in the repository over HTTP.
Settings come from FRAMEWATCH_* environment variables (see README); flags override them.
  --port N          FRAMEWATCH_PORT (default 8080)
  --host H          FRAMEWATCH_HOST (default 0.0.0.0)
  --models-dir DIR  FRAMEWATCH_MODELS_DIR (default ./models)`;

export interface RunningServer {
  server: Server;
  url: string;
  repository: ModelRepository;
  jobs: JobManager;
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Wires config, repository and HTTP app together and listens. Models load in the background. */
export async function startServer(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const repository = createRepository({
    root: config.modelsDir,
    device: config.device,
    threads: config.threads,
    logger,
    batching: config,
    decode: (bytes) => decodeImage(bytes, { maxPixels: config.maxImagePixels }),
    skewTolerance: config.skewTolerance,
    driftWindow: config.driftWindow,
  });
  // Uploads left by a previous process cannot belong to any live job.
  await rm(join(config.dataDir, 'tmp'), { recursive: true, force: true });
  await mkdir(join(config.dataDir, 'tmp'), { recursive: true });
  const jobs = createJobManager({ store: createDiskJobStore(config.dataDir), maxConcurrent: config.maxVideoJobs, logger });
  const interrupted = await jobs.recoverInterrupted();
  if (interrupted > 0) logger.warn('jobs interrupted by the last shutdown were marked failed', { count: interrupted });
  ffmpegVersion().then(
    (version) => logger.info('ffmpeg', { version, path: process.env.FFMPEG_PATH ?? 'npm @ffmpeg-installer/ffmpeg' }),
    (err) => logger.error('ffmpeg is not runnable: video requests will fail', { error: String(err) }),
  );
  const app = createApp({ config, repository, jobs, logger, version: FRAMEWATCH_VERSION });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  logger.info('listening', { url, modelsDir: config.modelsDir, device: config.device });
  const ready = repository.loadAll();
  return {
    server,
    url,
    repository,
    jobs,
    ready,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await jobs.stopAll();
      server.closeAllConnections();
      await closed;
      await ready.catch(() => undefined);
      await repository.close();
    },
  };
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    'models-dir': { type: 'string' },
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const config = loadConfig(process.env, { port: values.port, host: values.host, modelsDir: values['models-dir'] });
  const running = await startServer(config);
  const stop = () => void running.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return new Promise<number>(() => undefined); // runs until a signal
}
