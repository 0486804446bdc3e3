import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// No Docker engine or cluster runs here: these check what can be checked without one.
const read = (p: string) => readFileSync(p, 'utf8');
const pkg = JSON.parse(read('package.json'));
const readme = read('README.md');

/** Dockerfile instructions, with line continuations joined. */
const instructions = (file: string) =>
  read(file).replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });

describe.each(['Dockerfile', 'Dockerfile.gpu'])('%s', (file) => {
  const steps = instructions(file);
  const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args).join('\n');

  it('uses the intended base images', () => {
    const bases = steps.filter((s) => s.op === 'FROM').map((s) => s.args.split(/\s+/)[0]);
    if (file === 'Dockerfile') expect(bases).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    else {
      expect(bases).toContain('node:20-bookworm-slim');
      for (const b of bases.filter((b) => b.startsWith('nvidia/'))) expect(b).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-/);
    }
  });

  it('copies only files that exist in the repository', () => {
    for (const step of steps.filter((s) => s.op === 'COPY' && !s.args.includes('--from'))) {
      const parts = step.args.replace(/--chown=\S+/, '').trim().split(/\s+/);
      for (const src of parts.slice(0, -1)) expect(existsSync(src), `${file}: COPY ${src}`).toBe(true);
    }
  });

  it('runs the README setup: npm ci (which builds), then models prepare, then serve', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(runs).toMatch(/npm ci/);
    expect(runs).toMatch(/node dist\/src\/cli\/main\.js models prepare/);
    expect(pkg.scripts.start).toContain('models prepare');
    expect(pkg.scripts.prepare).toBe('npm run build');
    const cmd = steps.find((s) => s.op === 'CMD')!.args;
    expect(JSON.parse(cmd)).toEqual(['node', 'dist/src/cli/main.js', 'serve']);
  });

  it('uses Debian/Ubuntu ffmpeg through FRAMEWATCH_FFMPEG_PATH, runs as non-root, checks /healthz', () => {
    expect(runs).toMatch(/apt-get install[^\n]*ffmpeg/);
    expect(steps.some((s) => s.op === 'ENV' && s.args.includes('FRAMEWATCH_FFMPEG_PATH=/usr/bin/ffmpeg') && s.args.includes('FRAMEWATCH_FFPROBE_PATH=/usr/bin/ffprobe'))).toBe(true);
    const user = steps.filter((s) => s.op === 'USER').pop()!.args;
    expect(user).not.toMatch(/^(root|0)$/);
    expect(steps.find((s) => s.op === 'HEALTHCHECK')!.args).toContain('/healthz');
  });

  it('caps glibc malloc arenas as npm start does (RSS fragmentation under many threads)', () => {
    expect(steps.some((s) => s.op === 'ENV' && s.args.includes('MALLOC_ARENA_MAX=2'))).toBe(true);
    expect(pkg.scripts.start).toMatch(/MALLOC_ARENA_MAX=\$\{MALLOC_ARENA_MAX:-2\} node dist\/src\/cli\/main\.js serve/);
  });

  if (file === 'Dockerfile.gpu') {
    it('installs the CUDA 12 provider and selects cuda', () => {
      expect(steps.some((s) => s.op === 'ENV' && s.args.includes('ONNXRUNTIME_NODE_INSTALL=cuda12'))).toBe(true);
      expect(steps.some((s) => s.op === 'ENV' && s.args.includes('FRAMEWATCH_DEVICE=cuda'))).toBe(true);
    });
  }
});

describe('.dockerignore', () => {
  it('keeps node_modules and model artifacts out of the context', () => {
    const lines = read('.dockerignore').split('\n').map((l) => l.trim());
    expect(lines).toContain('node_modules');
    expect(lines).toContain('models/*/*/model.onnx');
    expect(lines).toContain('models/*/*/golden/outputs');
  });
});

describe('Kubernetes manifests', () => {
  const docs = ['deployment', 'service', 'hpa', 'deployment-gpu', 'kserve'].flatMap((n) =>
    parseAllDocuments(read(`deploy/kubernetes/${n}.yaml`)).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS();
    }),
  );
  const byKind = (kind: string, name?: string) => docs.find((d) => d.kind === kind && (!name || d.metadata.name === name));
  const images = docs.flatMap((d) => [...(d.spec?.template?.spec?.containers ?? []), ...(d.spec?.containers ?? [])].map((c: any) => c.image));

  it.each(['framewatch', 'framewatch-gpu'])('deployment %s probes /healthz and /readyz on 8080 and drains within its grace period', (name) => {
    const spec = byKind('Deployment', name).spec.template.spec;
    const c = spec.containers[0];
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    const drainMs = Number(c.env.find((e: any) => e.name === 'FRAMEWATCH_DRAIN_TIMEOUT_MS').value);
    const preStopMs = Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(c.lifecycle.preStop.exec.command.join(' '))![1]);
    expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs + preStopMs);
    expect(c.resources.requests.cpu).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
  });

  it('the GPU deployment asks for one GPU and runs with device cuda', () => {
    const c = byKind('Deployment', 'framewatch-gpu').spec.template.spec.containers[0];
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(c.env).toContainEqual({ name: 'FRAMEWATCH_DEVICE', value: 'cuda' });
  });

  it('service, autoscaler and KServe objects point at the right things', () => {
    expect(byKind('Service').spec.ports[0].targetPort).toBe('http');
    expect(byKind('Service').spec.selector).toEqual(byKind('Deployment', 'framewatch').spec.selector.matchLabels);
    expect(byKind('HorizontalPodAutoscaler').spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'framewatch' });
    const runtime = byKind('ServingRuntime');
    expect(runtime.spec.protocolVersions).toEqual(['v2']);
    expect(runtime.spec.containers[0].readinessProbe.httpGet.path).toBe('/v2/health/ready');
    expect(runtime.spec.containers[0].livenessProbe.httpGet.path).toBe('/v2/health/live');
    expect(byKind('InferenceService').spec.predictor.model.runtime).toBe(runtime.metadata.name);
  });

  it('every image is framewatch at the package version', () => {
    expect(images.length).toBeGreaterThanOrEqual(3);
    for (const image of images) expect(image).toMatch(new RegExp(`^ghcr\\.io/framewatch/framewatch:${pkg.version.replace(/\./g, '\\.')}(-gpu)?$`));
  });
});

describe('Kubernetes manifests for shared mode (scale-out.yaml)', () => {
  const docs = parseAllDocuments(read('deploy/kubernetes/scale-out.yaml')).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS();
  });
  const get = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
  const container = (name: string) => get('Deployment', name).spec.template.spec.containers[0];
  const env = (name: string, key: string) => container(name).env.find((e: any) => e.name === key)?.value;

  it('an API and a worker Deployment on one Redis, with their roles', () => {
    expect(env('framewatch-api', 'FRAMEWATCH_ROLE')).toBe('api');
    expect(env('framewatch-worker', 'FRAMEWATCH_ROLE')).toBe('worker');
    expect(env('framewatch-api', 'FRAMEWATCH_REDIS_URL')).toBe(env('framewatch-worker', 'FRAMEWATCH_REDIS_URL'));
    const redisService = get('Service', 'framewatch-redis');
    expect(env('framewatch-api', 'FRAMEWATCH_REDIS_URL')).toBe(`redis://${redisService.metadata.name}:${redisService.spec.ports[0].port}`);
    expect(get('StatefulSet', 'framewatch-redis').spec.template.spec.containers[0].args).toContain('--appendonly');
    for (const name of ['framewatch-api', 'framewatch-worker']) expect(container(name).image).toBe(`ghcr.io/framewatch/framewatch:${pkg.version}`);
  });

  it('both mount one ReadWriteMany claim at the data directory', () => {
    expect(get('PersistentVolumeClaim', 'framewatch-data').spec.accessModes).toEqual(['ReadWriteMany']);
    for (const name of ['framewatch-api', 'framewatch-worker']) {
      const spec = get('Deployment', name).spec.template.spec;
      expect(spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'framewatch-data' } });
      expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: '/app/data' });
    }
  });

  it('a worker drains within its grace period; KEDA scales workers on the chunk queue\'s wait list', () => {
    const spec = get('Deployment', 'framewatch-worker').spec.template.spec;
    expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env('framewatch-worker', 'FRAMEWATCH_DRAIN_TIMEOUT_MS')));
    const scaled = get('ScaledObject', 'framewatch-worker');
    expect(scaled.spec.scaleTargetRef.name).toBe('framewatch-worker');
    expect(scaled.spec.triggers[0]).toMatchObject({ type: 'redis', metadata: { listName: 'bull:framewatch-chunks:wait' } });
  });
});
