import type { Config } from '../config/index.js';
import { loadImage } from '../media/image.js';
import type { ImageDecoder } from '../registry/index.js';

/** The ONNX Runtime settings every session a command opens takes from the config. */
export const sessionSettings = (config: Config) => ({ device: config.device, threads: config.threads, spinning: config.threadSpinning });

/** The serving path's image loading under the configured pixel limit. */
export const imageLoader = (config: Config): ImageDecoder => (bytes, spec) => loadImage(bytes, spec, { maxPixels: config.maxImagePixels });
