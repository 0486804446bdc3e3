import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../logging/logger.js';
import { probeVideo } from '../../media/ffmpeg.js';
import { redactionFps, redactVideo } from '../../media/redact.js';
import type { RedactionRecord } from '../../shared/redaction.js';
import type { JobQueue } from '../jobs/queue.js';
import { addedBoxTargets } from './added-boxes.js';
import { auditOf, redactionTargets } from './audit.js';
import { writeFileAtomic } from '../../registry/atomic.js';
import { outputByteLimit, type RedactionLimits } from './limits.js';
import { passAudits, startPasses } from './passes.js';
import { maskPlan } from './plan.js';
import { failureOf, framesToEncode, stageProgress, TARGETS_FILE, type RedactionFiles, type RedactionRunner, type RedactionWork } from './records.js';

// The embedded mode's redactions: each runs in the background of this process. Drawn boxes
// are followed first; then the detect passes run and the encoder runs behind them, masking
// each frame once every pass is far enough past it.

const seconds = (from: number, to = performance.now()) => Math.round(to - from) / 1000;

export function createLocalRunner(jobs: Pick<JobQueue, 'videoPath'>, files: RedactionFiles, logger: Logger, limits: RedactionLimits): RedactionRunner {
  const running = new Map<string, { stop: AbortController; done: Promise<void> }>();

  /** Saves the record's progress at most twice a second (a final save always follows). */
  function progressSaver(record: RedactionRecord) {
    let lastSave = 0;
    return (progress: RedactionRecord['progress']) => {
      record.progress = progress;
      if (Date.now() - lastSave > 500) void files.save({ ...record, updatedAt: new Date((lastSave = Date.now())).toISOString() }).catch(() => undefined);
    };
  }

  async function run({ record, result, request, planned, spans }: RedactionWork, signal: AbortSignal): Promise<void> {
    const dir = files.dirOf(record.jobId, record.redactionId);
    const path = jobs.videoPath(record.jobId);
    const info = await probeVideo(path);
    const report = progressSaver(record);
    const trackStart = performance.now();
    if (request.boxes.some((b) => b.track)) report(stageProgress('track', 0, request.boxes.length));
    const added = await addedBoxTargets(request, path, info, { signal, onBox: (done) => report(stageProgress('track', done, request.boxes.length)) });
    const boxesTrackS = seconds(trackStart);
    const passes = startPasses(planned, path, info, request, signal, (done, total) => report(stageProgress('detect', done, total)));
    const fixedMasksAt = maskPlan(redactionTargets(result, request, [], added).targets, request, info);
    const masksAt = planned.length ? async (timeS: number) => [...fixedMasksAt(timeS), ...(await passes.masksAt(timeS))] : fixedMasksAt;
    const framesTotal = framesToEncode(result.video, spans);
    if (passes.finished()) report(stageProgress('encode', 0, framesTotal));
    const out = join(dir, 'video.mp4');
    const encodeStart = performance.now();
    const maxBytes = outputByteLimit(info, framesTotal, redactionFps(info), limits);
    // While a pass runs, the record shows the passes' progress; the encoder's from then on.
    const encoding = { style: request.style, audio: request.audio, spans, maxBytes, signal, onProgress: (done: number) => passes.finished() && report(stageProgress('encode', done, framesTotal)) };
    const frames = await redactVideo(path, info, masksAt, encoding, out).catch((err) => {
      passes.stop();
      throw err;
    });
    // A pass that fails after the last frame was encoded (confirmed spans end early) leaves no video either.
    const found = await passes.found().catch(async (err) => {
      await rm(out, { force: true });
      throw err;
    });
    const { targets, tracks } = redactionTargets(result, request, found, added);
    const passed = passAudits(planned, found);
    const plan = { tracks, faces: passed.faces, text: passed.text, detectS: passed.detectS, trackS: passed.trackS + boxesTrackS };
    const audit = await auditOf(record, result, request, plan, frames, seconds(encodeStart), { path: out, audio: request.audio && info.hasAudio });
    await writeFileAtomic(join(dir, TARGETS_FILE), JSON.stringify({ targets }));
    await writeFileAtomic(join(dir, 'audit.json'), JSON.stringify(audit, null, 2));
    Object.assign(record, { status: 'succeeded', audit, progress: stageProgress('encode', frames.framesDecoded, frames.framesDecoded) });
  }

  return {
    async launch(work) {
      const { record } = work;
      const stop = new AbortController();
      const deadline = AbortSignal.timeout(work.limitMs);
      const done = run(work, AbortSignal.any([stop.signal, deadline]))
        .catch((err) => {
          const cancelled = stop.signal.aborted;
          const error = failureOf(err, deadline.aborted, work.limitMs);
          Object.assign(record, { status: cancelled ? 'cancelled' : 'failed', ...(cancelled ? {} : { error }) });
          if (!cancelled) logger.error('redaction failed', { jobId: record.jobId, redactionId: record.redactionId, ...error });
        })
        .then(() => files.save({ ...record, updatedAt: new Date().toISOString() }))
        .catch((err) => logger.error('redaction record not saved', { jobId: record.jobId, redactionId: record.redactionId, message: (err as Error).message }))
        .finally(() => running.delete(record.redactionId));
      running.set(record.redactionId, { stop, done });
    },
    live: async (record) => record,
    async cancel(record) {
      const live = running.get(record.redactionId);
      live?.stop.abort();
      await live?.done;
    },
    async close() {
      const all = [...running.values()];
      for (const r of all) r.stop.abort();
      await Promise.all(all.map((r) => r.done));
    },
  };
}
