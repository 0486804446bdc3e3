import { prepareBundledModels } from '../src/exporter/index.js';
import { createLogger } from '../src/logging/logger.js';
import { loadImage } from '../src/media/image.js';

/** Exports the bundled models once (idempotent), exactly as `npm start` does. */
export default async function setup(): Promise<void> {
  await prepareBundledModels('models', (b, spec) => loadImage(b, spec, { maxPixels: 40_000_000 }), createLogger('warn'));
}
