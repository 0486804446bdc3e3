export * from './spec.js';
export * from './transform.js';
export * from './apply.js';
export * from './tiles.js';
