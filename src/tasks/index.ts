export * from './types.js';
export * from './geometry.js';
export * from './registry.js';
export { PEAK_INDICES_OUTPUT, PEAK_SCORES_OUTPUT } from './centernet-detection.js';
export * from './voice-activity.js';
export * from './voice-lanes.js';
export * from './speech-spans.js';
