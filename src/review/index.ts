export * from './review.js';
export * from './review-store.js';
export * from './profile-store.js';
