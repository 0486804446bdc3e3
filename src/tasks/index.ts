export * from './types.js';
export * from './geometry.js';
export * from './registry.js';
