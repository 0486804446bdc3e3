import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: two files at a time, each with real ONNX Runtime sessions.
    maxWorkers: 2,
    minWorkers: 1,
    benchmark: { include: ['bench/**/*.bench.ts'] },
  },
});
