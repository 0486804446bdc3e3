import { prepareBundledModels } from '../src/exporter/index.js';
import { createLogger } from '../src/logging/logger.js';
import { decodeImage } from '../src/media/image.js';

/** Exports the bundled models once (idempotent), exactly as `npm start` does. */
export default async function setup(): Promise<void> {
  await prepareBundledModels('models', (b) => decodeImage(b, { maxPixels: 40_000_000 }), createLogger('warn'));
}
