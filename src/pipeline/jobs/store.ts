import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { z } from 'zod';
import { jobRecordSchema, jobResultSchema, type JobRecord, type JobResult } from '../../shared/job-result.js';
import { writeFileAtomic } from '../../registry/index.js';
import { assertStorageRoom } from './storage.js';
import { createDiskReviewStore, type ReviewStore } from '../../review/index.js';

export type { JobRecord, JobResult, JobStatus } from '../../shared/job-result.js';

/**
 * Where jobs live. The embedded default is local disk; a shared store (S3, a database) can
 * implement the same interface when replicas must see each other's jobs.
 */
export interface JobStore {
  save(record: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | undefined>;
  list(): Promise<JobRecord[]>;
  saveResult(jobId: string, result: JobResult): Promise<void>;
  /** The succeeded job's result; undefined when there is none (or it does not parse). */
  readResult(jobId: string): Promise<JobResult | undefined>;
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
  /** Throws STORAGE_FULL when the disks of the uploads or of the jobs have no room for an upload of `bytes`. */
  checkRoom(bytes: number): void;
  /** Where uploads wait for their jobs (`<dataDir>/tmp`); a job's upload must be a file directly in it. */
  readonly uploadDir: string;
}

const JOB_ID_RE = /^[0-9a-f-]{36}$/;

/** Jobs under `<dataDir>/jobs/<id>/`: job.json and result.json written atomically. */
export function createDiskJobStore(dataDir: string): JobStore {
  const root = join(dataDir, 'jobs');
  const dir = (id: string) => {
    if (!JOB_ID_RE.test(id)) throw new RangeError(`'jobId' ${JSON.stringify(id)} is not a job id`);
    return join(root, id);
  };
  /** A stored file as its schema reads it: another version of framewatch may have written it. */
  const readJson = async <T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> => {
    try {
      return schema.parse(JSON.parse(await readFile(path, 'utf8')));
    } catch {
      return undefined;
    }
  };
  return {
    async save(record) {
      await mkdir(dir(record.jobId), { recursive: true });
      await writeFileAtomic(join(dir(record.jobId), 'job.json'), JSON.stringify(record));
    },
    get: (id) => (JOB_ID_RE.test(id) ? readJson(join(dir(id), 'job.json'), jobRecordSchema) : Promise.resolve(undefined)),
    async list() {
      const ids = await readdir(root).catch(() => [] as string[]);
      const records = await Promise.all(ids.filter((id) => JOB_ID_RE.test(id)).map((id) => readJson(join(root, id, 'job.json'), jobRecordSchema)));
      return records.filter((r): r is JobRecord => r !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    async saveResult(id, result) {
      await mkdir(dir(id), { recursive: true });
      await writeFileAtomic(join(dir(id), 'result.json'), JSON.stringify(result));
    },
    readResult: (id) => readJson(join(dir(id), 'result.json'), jobResultSchema),
    filesDir: (id) => join(dir(id), 'files'),
    reviews: createDiskReviewStore(dir),
    async settleUpload(id, uploadPath, keep) {
      if (!keep) return rm(uploadPath, { force: true });
      await mkdir(dir(id), { recursive: true });
      // The upload and the jobs share the data directory (one volume): a rename, no copy.
      await rename(uploadPath, join(dir(id), 'video'));
    },
    videoPath: (id) => join(dir(id), 'video'),
    uploadDir: resolve(dataDir, 'tmp'),
    checkRoom(bytes) {
      assertStorageRoom(resolve(dataDir, 'tmp'), bytes);
      assertStorageRoom(root, 0);
    },
  };
}
