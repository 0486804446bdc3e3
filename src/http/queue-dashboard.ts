import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import type { AppDeps } from './deps.js';
import { requireAdminToken } from './security.js';

export const DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board over the shared queue's BullMQ queues, behind the admin token. The embedded
 * queue has no BullMQ queues: the path is not mounted and answers 404.
 */
export function createQueueDashboard({ jobs, config }: AppDeps): Router {
  const router = Router();
  const queues = jobs.dashboardQueues?.() ?? [];
  if (queues.length === 0) return router;
  const adapter = new ExpressAdapter();
  adapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q as never, { readOnlyMode: false })), serverAdapter: adapter });
  router.use(DASHBOARD_PATH, requireAdminToken(config.adminToken), adapter.getRouter());
  return router;
}
