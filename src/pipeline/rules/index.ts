export * from './evaluate.js';
export * from './rule-segments.js';
export * from './re-review.js';
export * from './cue-spans.js';
