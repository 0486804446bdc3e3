import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { FramewatchError } from '../../errors/index.js';

/** Room kept free beyond an upload's declared size, for the job's record, result and thumbnails. */
export const STORAGE_HEADROOM_BYTES = 4 * 1024 * 1024;

/** Whether a filesystem error says the disk (or the quota) is full. */
export const isDiskFull = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
};

export const storageFull = (details?: unknown) =>
  new FramewatchError('STORAGE_FULL', "the data directory's disk is full; free space and retry", details);

/**
 * Throws STORAGE_FULL when `dir`'s filesystem has no room for `bytes` more and the headroom.
 * statfs is one cheap syscall, so the upload path can ask before it stores a byte.
 */
export function assertStorageRoom(dir: string, bytes = 0): void {
  let free: number | undefined;
  // The upload folder may not exist yet: its nearest existing parent is on the same disk.
  for (let at = dir; free === undefined; at = dirname(at)) {
    try {
      const fs = statfsSync(at);
      free = Number(fs.bavail) * Number(fs.bsize);
    } catch {
      if (dirname(at) === at) return;
    }
  }
  if (free < bytes + STORAGE_HEADROOM_BYTES) throw storageFull({ freeBytes: free, neededBytes: bytes + STORAGE_HEADROOM_BYTES });
}
