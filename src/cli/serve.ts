import { mkdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { join } from 'node:path';
import { clientErrorHandler, createApp, metricsHandler } from '../http/index.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { checkHwaccel, mediaToolVersions, resolveMediaTools, useMediaTools } from '../media/ffmpeg.js';
import { createDiskJobStore, openJobQueue, startRetention, type JobQueue } from '../pipeline/index.js';
import { createRepository, type ModelRepository } from '../registry/index.js';
import { createProfileStore } from '../review/index.js';
import { createRedactions } from '../pipeline/redaction/redactions.js';
import { cudaProviderInstalled } from '../runtime/index.js';
import { imageLoader, sessionSettings } from './config-options.js';
import { parseCommandArgs } from './args.js';
import { FRAMEWATCH_VERSION, loadConfig, type Config } from '../config/index.js';

export const SERVE_HELP = `Usage: framewatch serve [--port N] [--host H] [--models-dir DIR]

Serves every model version in the repository over HTTP.
Settings come from FRAMEWATCH_* environment variables (docs/configuration.md); flags override them.
  --port N          FRAMEWATCH_PORT (default 8080)
  --host H          FRAMEWATCH_HOST (default 0.0.0.0)
  --models-dir DIR  FRAMEWATCH_MODELS_DIR (default ./models)`;

export interface RunningServer {
  server: Server;
  url: string;
  repository: ModelRepository;
  jobs: JobQueue;
  ready: Promise<void>;
  /** Graceful shutdown: readiness 503, stop accepting, drain, interrupt jobs, release sessions. */
  close(): Promise<void>;
}

const listen = (server: Server, port: number, host: string) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

/** Wires config, repository and HTTP app together and listens. Models load in the background. */
export async function startServer(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const repository = createRepository({
    root: config.modelsDir,
    ...sessionSettings(config),
    logger,
    batching: config,
    decode: imageLoader(config),
    skewTolerance: config.skewTolerance,
    driftWindow: config.driftWindow,
  });
  // Embedded: uploads left by a previous process cannot belong to any live job. Shared: the
  // data directory is shared, and other replicas' uploads are live; retention removes old ones.
  if (!config.redisUrl) await rm(join(config.dataDir, 'tmp'), { recursive: true, force: true });
  await mkdir(join(config.dataDir, 'tmp'), { recursive: true });
  const store = createDiskJobStore(config.dataDir);
  // Workers take video chunks only once the models they run are loaded (below, after listen).
  let modelsLoaded!: () => void;
  const modelsReady = new Promise<void>((resolve) => (modelsLoaded = resolve));
  const jobs = await openJobQueue(config, store, repository, logger, modelsReady);
  const stopRetention = config.role === 'worker' ? () => undefined : startRetention(config.dataDir, store, config.jobTtlHours, logger);
  logger.info('video jobs', { queue: jobs.mode, role: config.role, chunkSeconds: config.chunkSeconds, chunkConcurrency: config.chunkConcurrency });
  const { tools, dropped } = await checkHwaccel(resolveMediaTools(config));
  if (dropped) logger.warn('hardware video decoding is not available', { hwaccel: config.ffmpegHwaccel, reason: dropped });
  useMediaTools(tools);
  mediaToolVersions(tools).then(
    (versions) => logger.info('ffmpeg', { source: tools.source, ffmpegPath: tools.ffmpeg, ffprobePath: tools.ffprobe, hwaccel: tools.hwaccel ?? 'none', ...versions }),
    (err) => logger.error('ffmpeg is not runnable: video requests will fail', { source: tools.source, error: String(err) }),
  );
  let draining = false;
  // In the shared mode, redactions run in parts on the workers, as video jobs' chunks do.
  const redactions = createRedactions(jobs, repository, logger, config, config.redisUrl ? {
    redisUrl: config.redisUrl, work: config.role !== 'api', chunkSeconds: config.chunkSeconds, chunkConcurrency: config.chunkConcurrency,
    lockMs: config.queueLockMs, stalledIntervalMs: config.queueStalledIntervalMs, maxStalled: config.queueMaxStalled, ttlHours: config.jobTtlHours, modelsReady,
  } : undefined);
  const app = createApp({ config, repository, jobs, profiles: createProfileStore(config.dataDir), redactions, logger, version: FRAMEWATCH_VERSION, draining: () => draining });
  const server = createServer(app);
  server.requestTimeout = config.httpTimeoutMs;
  server.headersTimeout = Math.min(60_000, config.httpTimeoutMs);
  server.on('clientError', clientErrorHandler(logger));
  let inflight = 0;
  server.on('request', (_req, res) => {
    inflight++;
    res.once('close', () => inflight--);
  });
  await listen(server, config.port, config.host);
  let metricsServer: Server | undefined;
  if (config.metricsPort) {
    metricsServer = createServer(express().get('/metrics', metricsHandler));
    await listen(metricsServer, config.metricsPort, config.host);
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  // One line for the device: 'auto' without the CUDA provider installed is plain CPU, not a failure.
  const provider = config.device === 'cpu' || !cudaProviderInstalled() ? 'cpu' : 'cuda (CPU fallback per model)';
  logger.info('listening', { url, modelsDir: config.modelsDir, device: config.device, provider, version: FRAMEWATCH_VERSION });
  if (!config.apiToken && !['127.0.0.1', '::1', 'localhost'].includes(config.host)) {
    logger.warn(`NO API TOKEN: listening on ${config.host}, so anyone who can reach port ${port} can run the models and read every job and video; set FRAMEWATCH_API_TOKEN, or FRAMEWATCH_HOST=127.0.0.1 to stay on this machine`, { host: config.host });
  }
  const ready = repository.loadAll();
  void ready.finally(modelsLoaded);
  let poller: NodeJS.Timeout | undefined;
  if (config.pollIntervalMs) {
    let polling = false;
    poller = setInterval(() => {
      if (polling) return;
      polling = true;
      ready
        .then(() => repository.poll())
        .then((found) => found.length && logger.info('new model versions picked up', { versions: found.map((e) => `${e.name}/${e.version} ${e.state}`) }))
        .catch((err) => logger.error('model repository poll failed', { error: String(err) }))
        .finally(() => (polling = false));
    }, config.pollIntervalMs);
    poller.unref();
  }
  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    repository,
    jobs,
    ready,
    close() {
      closing ??= (async () => {
        draining = true;
        if (poller) clearInterval(poller);
        logger.info('shutting down: draining', { inflight, drainTimeoutMs: config.drainTimeoutMs });
        // Connections stay open while in-flight requests finish: probes see 503, new work is refused.
        const deadline = Date.now() + config.drainTimeoutMs;
        while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Embedded: jobs still running end INTERRUPTED and their temp files go. Shared: the
        // worker finishes its chunk or hands it back; the job lives on in Redis.
        stopRetention();
        await redactions.close();
        await jobs.close();
        server.closeAllConnections();
        await closed;
        await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
        await ready.catch(() => undefined);
        await repository.close();
        logger.info('stopped', { unfinished: inflight });
      })();
      return closing;
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
  const stop = () => void running.close().then(() => process.exit(0), () => process.exit(1));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return new Promise<number>(() => undefined); // runs until a signal
}
