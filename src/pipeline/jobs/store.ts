import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ErrorCode } from '../../errors/index.js';
import { writeFileAtomic } from '../../registry/index.js';
import { createDiskReviewStore, type ReviewStore } from '../../review/index.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobRecord {
  jobId: string;
  status: JobStatus;
  createdAt: string;
  updatedAt: string;
  model: { name: string; version: number };
  input: { filename?: string; bytes: number; durationS: number };
  progress: { framesDone: number; framesTotal: number; percent: number };
  /** The job's time chunks: where each starts, its frames done, and the worker that ran it. */
  chunks?: Array<{ index: number; startS: number; framesDone: number; worker?: string }>;
  error?: { code: ErrorCode; message: string; details?: unknown };
}

/**
 * Where jobs live. The embedded default is local disk; a shared store (S3, a database) can
 * implement the same interface when replicas must see each other's jobs.
 */
export interface JobStore {
  save(record: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | undefined>;
  list(): Promise<JobRecord[]>;
  saveResult(jobId: string, result: unknown): Promise<void>;
  readResult(jobId: string): Promise<unknown | undefined>;
  /** A directory for the job's files (thumbnails). */
  filesDir(jobId: string): string;
  /** Reviewers' decisions on the job's segments, beside the job. */
  reviews: ReviewStore;
  /**
   * The end of a job's upload: kept as the job's video when `keep` (a succeeded job, with
   * FRAMEWATCH_KEEP_VIDEOS), else removed.
   */
  settleUpload(jobId: string, uploadPath: string, keep: boolean): Promise<void>;
  /** Where a kept video is (it may not exist). */
  videoPath(jobId: string): string;
}

const JOB_ID_RE = /^[0-9a-f-]{36}$/;

/** Jobs under `<dataDir>/jobs/<id>/`: job.json and result.json written atomically. */
export function createDiskJobStore(dataDir: string): JobStore {
  const root = join(dataDir, 'jobs');
  const dir = (id: string) => {
    if (!JOB_ID_RE.test(id)) throw new RangeError(`'jobId' ${JSON.stringify(id)} is not a job id`);
    return join(root, id);
  };
  const readJson = async (path: string) => {
    try {
      return JSON.parse(await readFile(path, 'utf8'));
    } catch {
      return undefined;
    }
  };
  return {
    async save(record) {
      await mkdir(dir(record.jobId), { recursive: true });
      await writeFileAtomic(join(dir(record.jobId), 'job.json'), JSON.stringify(record));
    },
    get: (id) => (JOB_ID_RE.test(id) ? readJson(join(dir(id), 'job.json')) : Promise.resolve(undefined)),
    async list() {
      const ids = await readdir(root).catch(() => [] as string[]);
      const records = await Promise.all(ids.filter((id) => JOB_ID_RE.test(id)).map((id) => readJson(join(root, id, 'job.json'))));
      return (records.filter(Boolean) as JobRecord[]).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    async saveResult(id, result) {
      await mkdir(dir(id), { recursive: true });
      await writeFileAtomic(join(dir(id), 'result.json'), JSON.stringify(result));
    },
    readResult: (id) => readJson(join(dir(id), 'result.json')),
    filesDir: (id) => join(dir(id), 'files'),
    reviews: createDiskReviewStore(dir),
    async settleUpload(id, uploadPath, keep) {
      if (!keep) return rm(uploadPath, { force: true });
      await mkdir(dir(id), { recursive: true });
      // The upload and the jobs share the data directory (one volume): a rename, no copy.
      await rename(uploadPath, join(dir(id), 'video'));
    },
    videoPath: (id) => join(dir(id), 'video'),
  };
}
