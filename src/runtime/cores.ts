import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPU quota in cores from a cgroup's files: v2 `cpu.max` ("max 100000" or "200000 100000"),
 * or v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` (-1 = none). Undefined when unlimited or
 * unreadable. Pure, for tests; `cpuQuota` reads the process's own.
 */
export function parseCpuQuota(files: { cpuMax?: string; cfsQuotaUs?: string; cfsPeriodUs?: string }): number | undefined {
  const [quota, period] = files.cpuMax !== undefined
    ? files.cpuMax.trim().split(/\s+/).map((v) => (v === 'max' ? NaN : Number(v)))
    : [Number(files.cfsQuotaUs?.trim()), Number(files.cfsPeriodUs?.trim())];
  return quota > 0 && period > 0 ? quota / period : undefined;
}

const readOrUndefined = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** This process's CPU quota in cores (a container's CPU limit), if its cgroup sets one. */
function cpuQuota(): number | undefined {
  const cpuMax = readOrUndefined('/sys/fs/cgroup/cpu.max');
  if (cpuMax !== undefined) return parseCpuQuota({ cpuMax });
  return parseCpuQuota({ cfsQuotaUs: readOrUndefined('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'), cfsPeriodUs: readOrUndefined('/sys/fs/cgroup/cpu/cpu.cfs_period_us') });
}

/**
 * The cores this process may use: the CPUs it can run on, capped by its container's CPU
 * limit (Node's availableParallelism sees the node's CPUs, not a pod's `limits.cpu`; threads
 * sized to the node would be throttled). At least 1.
 */
export function usableCores(): number {
  const quota = cpuQuota();
  return Math.max(1, Math.min(availableParallelism(), quota === undefined ? Infinity : Math.floor(quota)));
}
