import type { Config } from '../config/index.js';
import { loadImage } from '../media/image.js';
import type { ImageDecoder } from '../registry/index.js';

/**
 * Cores a process leaves to other work when FRAMEWATCH_THREADS is unset: a worker runs only
 * video, where ffmpeg decodes beside ONNX Runtime, so it leaves ffmpeg one. Measured on 2
 * cores, a 1080p minute at exact sampling with ORT on one thread: 5-20% faster over four
 * measurements (bench/RESULTS.md); images, which a worker never serves, would lose 12%
 * latency that way.
 */
export const reservedCores = (config: Pick<Config, 'role'>): number => (config.role === 'worker' ? 1 : 0);

/**
 * Cores a process that answers images and also runs video ('all', the default) leaves to
 * ffmpeg for its video frames only: each version's bulk batches run on a second session with
 * one thread fewer, its images keep every core. 'api' runs no video; a worker reserves the core
 * for everything.
 */
export const bulkReservedCores = (config: Pick<Config, 'role'>): number | undefined => (config.role === 'all' ? 1 : undefined);

/** The ONNX Runtime settings every session a command opens takes from the config. */
export const sessionSettings = (config: Config) => ({
  device: config.device, threads: config.threads, reservedCores: reservedCores(config), bulkReservedCores: bulkReservedCores(config), spinning: config.threadSpinning,
});

/** The serving path's image loading under the configured pixel limit. */
export const imageLoader = (config: Config): ImageDecoder => (bytes, spec) => loadImage(bytes, spec, { maxPixels: config.maxImagePixels });
