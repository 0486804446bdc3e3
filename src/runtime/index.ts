export * from './session.js';
export * from './infer.js';
