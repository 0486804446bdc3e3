export * from './session.js';
export * from './infer.js';
export * from './batcher.js';
export * from './batching-defaults.js';
export * from './half.js';
export * from './cores.js';
