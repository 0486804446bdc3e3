export * from './predict-image.js';
