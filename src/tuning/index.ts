export * from './tune.js';
export * from './parity.js';
export * from './measure.js';
