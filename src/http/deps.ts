import type { Config } from '../config/index.js';
import type { Logger } from '../logging/logger.js';
import type { JobQueue } from '../pipeline/index.js';
import type { ModelRepository } from '../registry/index.js';
import type { ProfileStore } from '../review/index.js';
import type { Redactions } from '../pipeline/redaction/redactions.js';

/** What the HTTP layer is built from; src/cli/serve wires it. */
export interface AppDeps {
  config: Config;
  repository: ModelRepository;
  jobs: JobQueue;
  /** Stored review profiles. */
  profiles: ProfileStore;
  /** Redactions of finished jobs' videos. */
  redactions: Redactions;
  logger: Logger;
  /** framewatch's own version, reported by GET /v2. */
  version: string;
  /** True once SIGTERM arrived: readiness answers 503 while requests drain. */
  draining: () => boolean;
}
