export * from './export.js';
export * from './golden.js';
export * from './prepare.js';
export * from './package-file.js';
export * from './reference.js';
