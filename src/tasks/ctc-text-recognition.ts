import { z } from 'zod';
import { FramewatchError } from '../errors/index.js';
import type { Detection, OutputTensor, Task } from './types.js';

/** CTC text recognition parameters (PaddleOCR's CTCLabelDecode). */
export const ctcParamsSchema = z.object({
  /** Lines whose confidence (mean of the kept characters' probabilities) is below this are dropped. */
  scoreThreshold: z.number().min(0).max(1).default(0.5),
});
export type CtcParams = z.infer<typeof ctcParamsSchema>;

/**
 * Greedy CTC decoding of one line: the best class per time step, repeats collapsed, the blank
 * (class 0) removed. `labels[c]` is class c's character. Confidence is the mean probability
 * of the characters kept (0 for an empty line).
 */
export function ctcGreedyDecode(output: OutputTensor, labels: readonly string[]): { text: string; confidence: number } {
  const [, steps, classes] = output.dims;
  if (classes !== labels.length) {
    throw new FramewatchError('INFERENCE_FAILED', `the recognizer outputs ${classes} classes and its manifest lists ${labels.length} characters`);
  }
  let text = '';
  let sum = 0;
  let kept = 0;
  let previous = 0;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = -Infinity;
    for (let c = 0, i = t * classes; c < classes; c++, i++) {
      const p = output.data[i];
      if (p > bestP) [best, bestP] = [c, p];
    }
    if (best !== 0 && best !== previous) {
      text += labels[best];
      sum += bestP;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept ? sum / kept : 0 };
}

/**
 * A text-line recognizer: the whole input is one line. The answer is one detection covering
 * the picture, label 'text', with the line's `text` and `textScore` (also its score).
 */
export const ctcTextRecognition: Task<CtcParams> = {
  name: 'ctc-text-recognition',
  inputKind: 'image',
  paramsSchema: ctcParamsSchema,
  postprocess({ outputs, outputNames, transform, params, labels }) {
    const line = ctcGreedyDecode(outputs[outputNames[0]], labels);
    const text = line.text.trim();
    if (!text || line.confidence < params.scoreThreshold) return [];
    const box = { x: 0, y: 0, width: transform.sourceWidth, height: transform.sourceHeight };
    const detection: Detection = { label: 'text', classId: 0, score: line.confidence, box, text, textScore: line.confidence };
    return [detection];
  },
};
