import { FramewatchError } from '../errors/index.js';
import { blazefaceDetection } from './blazeface-detection.js';
import { centernetDetection } from './centernet-detection.js';
import { ctcTextRecognition } from './ctc-text-recognition.js';
import { dbTextDetection } from './db-text-detection.js';
import { rawTensor } from './raw-tensor.js';
import { voiceActivity } from './voice-activity.js';
import { yoloDetection } from './yolo-detection.js';
import type { Task } from './types.js';

// Each task file plugs in here; the manifest's `task` field picks one.
const TASKS: ReadonlyMap<string, Task<{ scoreThreshold: number }>> = new Map(
  [dbTextDetection, centernetDetection, yoloDetection, blazefaceDetection, ctcTextRecognition, rawTensor, voiceActivity].map((t) => [t.name, t as unknown as Task<{ scoreThreshold: number }>]),
);

export const taskNames = (): string[] => [...TASKS.keys()];

/** Looks up a task by the manifest's `task` name. */
export function getTask(name: string): Task<{ scoreThreshold: number }> {
  const task = TASKS.get(name);
  if (!task) throw new FramewatchError('INVALID_INPUT', `unknown task '${name}'; known: ${taskNames().join(', ')}`);
  return task;
}
