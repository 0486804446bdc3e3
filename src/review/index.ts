export * from './review.js';
export * from './review-store.js';
