export * from './evaluate.js';
export * from './rule-segments.js';
