export { FRAMEWATCH_VERSION } from '../config/index.js';
