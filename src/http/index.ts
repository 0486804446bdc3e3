export * from './app.js';
export { metricsHandler } from './routes.js';
export type { AppDeps } from './deps.js';
export { clientErrorHandler } from './client-error.js';
