import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { reservedCores } from '../src/cli/config-options.js';
import { intraOpThreads } from '../src/registry/index.js';
import { parseCpuQuota, usableCores } from '../src/runtime/index.js';
import { runCli } from './helpers/cli.js';


describe('config', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({ port: 8080, modelsDir: './models', dataDir: './data', device: 'auto', maxImageBytes: 25 * 1024 * 1024, maxImagePixels: 40_000_000 });
  });

  it('reads FRAMEWATCH_* variables', () => {
    const c = loadConfig({ FRAMEWATCH_PORT: '9000', FRAMEWATCH_DEVICE: 'cpu', FRAMEWATCH_THREADS: '2' });
    expect(c).toMatchObject({ port: 9000, device: 'cpu', threads: 2 });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads ORT thread spinning as a boolean word, off by default, and names a bad value', () => {
    expect(loadConfig({}).threadSpinning).toBe(false);
    expect(loadConfig({ FRAMEWATCH_THREAD_SPINNING: 'true' }).threadSpinning).toBe(true);
    expect(loadConfig({ FRAMEWATCH_THREAD_SPINNING: 'false' }).threadSpinning).toBe(false);
    expect(() => loadConfig({ FRAMEWATCH_THREAD_SPINNING: 'sometimes' })).toThrow(/FRAMEWATCH_THREAD_SPINNING/);
  });

  it('a worker leaves ffmpeg a core: ORT gets the other cores, shared among instances, unless FRAMEWATCH_THREADS says otherwise', () => {
    const worker = { reservedCores: reservedCores({ role: 'worker' }) };
    expect(intraOpThreads(worker, 1, 2)).toBe(1);
    expect(intraOpThreads(worker, 1, 16)).toBe(15);
    expect(intraOpThreads(worker, 2, 16)).toBe(7); // two instances never oversubscribe
    expect(intraOpThreads(worker, 1, 1)).toBe(1);
    expect(intraOpThreads({ ...worker, threads: 2 }, 1, 2)).toBe(2);
    // Serving images too (all, api): every core.
    expect(intraOpThreads({ reservedCores: reservedCores({ role: 'all' }) }, 1, 2)).toBe(2);
    expect(intraOpThreads({ reservedCores: reservedCores({ role: 'api' }) }, 2, 16)).toBe(8);
  });

  it('reads a container\'s CPU limit from its cgroup (v2 cpu.max, v1 cfs quota), none when unlimited', () => {
    expect(parseCpuQuota({ cpuMax: '200000 100000\n' })).toBe(2);
    expect(parseCpuQuota({ cpuMax: '150000 100000' })).toBe(1.5);
    expect(parseCpuQuota({ cpuMax: 'max 100000\n' })).toBeUndefined();
    expect(parseCpuQuota({ cfsQuotaUs: '400000\n', cfsPeriodUs: '100000\n' })).toBe(4);
    expect(parseCpuQuota({ cfsQuotaUs: '-1\n', cfsPeriodUs: '100000\n' })).toBeUndefined();
    expect(parseCpuQuota({})).toBeUndefined();
    expect(usableCores()).toBeGreaterThanOrEqual(1);
  });

  it('takes the ffmpeg pair together, and api/worker roles only with Redis', () => {
    expect(() => loadConfig({ FRAMEWATCH_FFMPEG_PATH: '/usr/bin/ffmpeg' })).toThrow(/FRAMEWATCH_FFMPEG_PATH: set together with FRAMEWATCH_FFPROBE_PATH/);
    expect(loadConfig({ FRAMEWATCH_FFMPEG_PATH: '/a/ffmpeg', FRAMEWATCH_FFPROBE_PATH: '/a/ffprobe' })).toMatchObject({ ffmpegPath: '/a/ffmpeg', ffprobePath: '/a/ffprobe' });
    expect(() => loadConfig({ FRAMEWATCH_ROLE: 'worker' })).toThrow(/FRAMEWATCH_ROLE: 'api' and 'worker' need FRAMEWATCH_REDIS_URL/);
    expect(loadConfig({ FRAMEWATCH_ROLE: 'worker', FRAMEWATCH_REDIS_URL: 'redis://127.0.0.1:6379' }).role).toBe('worker');
  });

  it('lists every bad field by its variable name', () => {
    try {
      loadConfig({ FRAMEWATCH_PORT: 'eighty', FRAMEWATCH_DEVICE: 'tpu' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.join('\n')).toMatch(/FRAMEWATCH_PORT/);
      expect((err as ConfigError).problems.join('\n')).toMatch(/FRAMEWATCH_DEVICE/);
    }
  });
});

describe('CLI', () => {
  const cli = runCli;

  it.each([['--help'], ['serve', '--help'], ['export', '--help'], ['models', '--help']])('framewatch %s %s prints usage', async (...args) => {
    const { code, stdout } = await cli(args.filter(Boolean));
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: framewatch/);
  });

  it('exits non-zero with a readable list on invalid config', async () => {
    const { code, stderr } = await cli(['serve'], { FRAMEWATCH_PORT: '-1', FRAMEWATCH_LOG_LEVEL: 'loud' });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/FRAMEWATCH_PORT/);
    expect(stderr).toMatch(/FRAMEWATCH_LOG_LEVEL/);
  });
});
