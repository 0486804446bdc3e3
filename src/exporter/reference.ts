import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreprocessSpec } from '../../preprocessing/index.js';
import { audioSampleBins, AUDIO_DRIFT_FEATURES, buildProfile, driftSample, sampleBins, type DriftProfile } from '../metrics/index.js';
import { runSingle, type ModelSession } from '../runtime/index.js';
import { speechRatio, speechSpans, VOICE_FRAME_SAMPLES, VOICE_SAMPLE_RATE, type Task, type VoiceParams } from '../tasks/index.js';
import type { HeardClip } from '../registry/index.js';
import type { ImageDecoder } from './golden.js';

export const REFERENCE_FILE = 'reference.json';
const IMAGE_EXT = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

export interface ReferenceProfile {
  source: 'golden' | 'reference-dir';
  samples: number;
  profile: DriftProfile;
}

/** Images directly inside a reference folder, sorted for a deterministic profile. */
export async function referenceImages(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => IMAGE_EXT.test(f)).sort().map((f) => join(dir, f));
}

/**
 * The drift reference: input statistics and predictions of the golden set (or a reference
 * folder), through the same decode, preprocessing, session and task as serving.
 */
export async function writeReferenceProfile(
  versionDir: string,
  images: readonly string[],
  source: ReferenceProfile['source'],
  run: { session: ModelSession; spec: PreprocessSpec; task: Task<{ scoreThreshold: number }>; params: { scoreThreshold: number }; labels: string[]; decode: ImageDecoder },
): Promise<ReferenceProfile> {
  const samples: Array<Array<[string, string]>> = [];
  for (const path of images) {
    const { input, width, height } = await run.decode(await readFile(path), run.spec);
    const outputs = await runSingle(run.session, input);
    const detections = run.task.postprocess({ outputs, outputNames: run.session.outputs.map((o) => o.name), transform: input.transform, params: run.params, labels: run.labels });
    samples.push(sampleBins(driftSample(input.pixels, detections, { width, height })));
  }
  const reference = { source, samples: samples.length, profile: buildProfile(samples) };
  await writeFile(join(versionDir, REFERENCE_FILE), `${JSON.stringify(reference, null, 2)}\n`);
  return reference;
}

/**
 * A voice model's drift reference: the speech ratio and span lengths of its golden clips, from
 * the probabilities the golden replay heard (writeAudioGoldenOutputs) and the manifest's span
 * rules (the same as a job hears).
 */
export async function writeAudioReferenceProfile(versionDir: string, clips: readonly HeardClip[], params: VoiceParams): Promise<ReferenceProfile> {
  const samples = clips.map(({ seconds, probabilities }) => {
    const spans = speechSpans(probabilities, VOICE_FRAME_SAMPLES / VOICE_SAMPLE_RATE, params);
    return audioSampleBins({ speechRatio: speechRatio(spans, seconds), spans });
  });
  const reference = { source: 'golden' as const, samples: samples.length, profile: buildProfile(samples, AUDIO_DRIFT_FEATURES) };
  await writeFile(join(versionDir, REFERENCE_FILE), `${JSON.stringify(reference, null, 2)}\n`);
  return reference;
}
