export * from './context.js';
export * from './convert.js';
export * from './model-json.js';
export * from './weights.js';
export * from './ops-conv.js';
