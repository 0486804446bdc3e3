export * from './app.js';
export { metricsHandler } from './routes.js';
