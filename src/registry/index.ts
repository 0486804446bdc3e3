export * from './manifest.js';
export * from './scan.js';
export * from './hash.js';
export * from './repository.js';
export * from './atomic.js';
export * from './skew.js';
export * from './labels.js';
