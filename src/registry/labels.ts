import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic.js';

/** A version label: lowercase letters, digits and dashes, starting with a letter. */
export const LABEL_RE = /^[a-z][a-z0-9-]{0,31}$/;

const labelsSchema = z.record(z.string().regex(LABEL_RE), z.number().int().positive());

/** TF Serving-style version labels: models/<name>/labels.json, e.g. {"stable": 1, "canary": 2}. */
export async function readLabels(root: string, name: string): Promise<Record<string, number>> {
  try {
    return labelsSchema.parse(JSON.parse(await readFile(join(root, name, 'labels.json'), 'utf8')));
  } catch {
    return {};
  }
}

export async function writeLabels(root: string, name: string, labels: Record<string, number>): Promise<void> {
  await writeFileAtomic(join(root, name, 'labels.json'), `${JSON.stringify(labelsSchema.parse(labels), null, 2)}\n`);
}
