export * from './tune.js';
export * from './measure.js';
