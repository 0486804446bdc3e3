import { availableParallelism } from 'node:os';
import type { Config } from '../config/index.js';
import { loadImage } from '../media/image.js';
import type { ImageDecoder } from '../registry/index.js';

/**
 * ONNX Runtime's intra-op threads when FRAMEWATCH_THREADS is unset: a worker runs only video,
 * where ffmpeg decodes beside ORT, so it leaves ffmpeg a core. Measured on 2 cores, a 1080p
 * minute: 20% faster at exact sampling and keyframes (ORT on one thread); images, which a
 * worker never serves, would lose 12% latency (docs/benchmarks.md). Else the repository's
 * default: the cores divided among a model's instances.
 */
export const defaultThreads = (config: Pick<Config, 'threads' | 'role'>, cores = availableParallelism()): number | undefined =>
  config.threads ?? (config.role === 'worker' && cores > 1 ? cores - 1 : undefined);

/** The ONNX Runtime settings every session a command opens takes from the config. */
export const sessionSettings = (config: Config) => ({ device: config.device, threads: defaultThreads(config), spinning: config.threadSpinning });

/** The serving path's image loading under the configured pixel limit. */
export const imageLoader = (config: Config): ImageDecoder => (bytes, spec) => loadImage(bytes, spec, { maxPixels: config.maxImagePixels });
