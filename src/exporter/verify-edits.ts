import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withoutFolding, type PreprocessSpec } from '../../preprocessing/index.js';
import { FramewatchError } from '../errors/index.js';
import type { ImageDecoder } from '../registry/index.js';
import { createSession, runSingle, type ModelSession, type NumericTensor } from '../runtime/index.js';
import type { Detection, Task } from '../tasks/index.js';
import { appendCenternetPeaks, prependNormalization } from './onnx/graph-edit.js';

/** Largest difference allowed between an output of the source model and of the edited one. */
export const EDIT_TOLERANCE = 1e-4;
/** For detections decoded in the graph vs in JS: score and box corner (model-input pixels mapped to source). */
const SCORE_TOLERANCE = 1e-4;
const BOX_TOLERANCE_PX = 0.01;

/**
 * The graph edits the manifest asks for: the normalization head (preprocessing
 * `normalizeInModel`) and CenterNet's peak tail (postprocessing `decodeInModel`).
 * Returns the source bytes themselves when there is nothing to edit.
 */
export function editGraph(source: Uint8Array, task: string, spec: PreprocessSpec, params: Record<string, unknown>): Uint8Array {
  let bytes = source;
  if (spec.normalizeInModel) bytes = prependNormalization(bytes, spec);
  if (params.decodeInModel) {
    if (task !== 'centernet-detection') throw new FramewatchError('EXPORT_FAILED', `decodeInModel is not supported for task '${task}'`);
    bytes = appendCenternetPeaks(bytes, { heatmap: String(params.heatmapOutput), k: Number(params.maxCandidates) });
  }
  return bytes;
}

function maxAbsDiff(a: NumericTensor, b: NumericTensor): number {
  if (a.data.length !== b.data.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
  return max;
}

function detectionsDiffer(a: Detection[], b: Detection[]): string | undefined {
  if (a.length !== b.length) return `${a.length} detections from the source model, ${b.length} from the edited one`;
  for (const [i, d] of a.entries()) {
    const e = b[i];
    const corners = (x: Detection) => [x.box.x, x.box.y, x.box.x + x.box.width, x.box.y + x.box.height];
    const boxDiff = Math.max(...corners(d).map((v, k) => Math.abs(v - corners(e)[k])));
    if (d.label !== e.label || Math.abs(d.score - e.score) > SCORE_TOLERANCE || boxDiff > BOX_TOLERANCE_PX) {
      return `detection ${i}: ${d.label} ${d.score.toFixed(5)} vs ${e.label} ${e.score.toFixed(5)}, box corners differ by ${boxDiff.toFixed(4)} px`;
    }
  }
  return undefined;
}

export interface VerifyEditsOptions {
  staging: string;
  sourceBytes: Uint8Array;
  edited: ModelSession;
  golden: readonly string[];
  spec: PreprocessSpec;
  task: Task<{ scoreThreshold: number }>;
  params: { scoreThreshold: number };
  labels: readonly string[];
  decode: ImageDecoder;
}

/**
 * Runs every golden image through the source model (normalized in JS) and the edited model
 * (fed as the server will feed it). Outputs both models have must agree within
 * EDIT_TOLERANCE; when the edit replaced outputs, the decoded detections must agree.
 */
export async function verifyGraphEdits(o: VerifyEditsOptions): Promise<void> {
  const sourcePath = join(o.staging, 'source.onnx');
  await writeFile(sourcePath, o.sourceBytes);
  const source = await createSession(sourcePath, { device: 'cpu' });
  try {
    for (const input of o.golden) {
      const bytes = await readFile(join(o.staging, input));
      const before = await runSingle(source, (await o.decode(bytes, withoutFolding(o.spec))).input);
      const fed = (await o.decode(bytes, o.spec)).input;
      const after = await runSingle(o.edited, fed);
      const fail = (why: string) => {
        throw new FramewatchError('EXPORT_FAILED', `the edited graph does not reproduce the source model on ${input}: ${why}`);
      };
      for (const [name, tensor] of Object.entries(before)) {
        if (!after[name]) continue;
        const diff = maxAbsDiff(tensor, after[name]);
        if (!(diff <= EDIT_TOLERANCE)) fail(`output '${name}' differs by ${diff} (tolerance ${EDIT_TOLERANCE})`);
      }
      if (Object.keys(before).some((name) => !after[name])) {
        const decode = (outputs: Record<string, NumericTensor>, session: ModelSession) =>
          o.task.postprocess({ outputs, outputNames: session.outputs.map((t) => t.name), transform: fed.transform, params: o.params, labels: o.labels });
        const why = detectionsDiffer(decode(before, source), decode(after, o.edited));
        if (why) fail(why);
      }
    }
  } finally {
    await source.release();
    await rm(sourcePath, { force: true });
  }
}
