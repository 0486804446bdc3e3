export * from './predict-image.js';
export * from './predict-video.js';
export * from './sampling.js';
export * from './motion.js';
export * from './tracker.js';
export * from './segments.js';
export * from './jobs/index.js';
export * from './score-file.js';
