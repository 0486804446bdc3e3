export * from './store.js';
export * from './manager.js';
