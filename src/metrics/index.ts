export * from './metrics.js';
export * from './drift.js';
