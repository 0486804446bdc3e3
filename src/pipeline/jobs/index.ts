export * from './store.js';
export * from './queue.js';
export * from './spec.js';
export * from './embedded-queue.js';
export * from './video-job.js';
export * from './shared-queue.js';
export * from './retention.js';
export * from './open-queue.js';
