import { z } from 'zod';
import { FramewatchError } from '../errors/index.js';

/** Parses request input with a zod schema; issues become INVALID_INPUT with details. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new FramewatchError(
    'INVALID_INPUT',
    parsed.error.issues.map((i) => `'${i.path.join('.')}' ${i.message}`).join('; '),
    { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  );
}

export const predictQuerySchema = z.object({
  threshold: z.coerce.number().min(0).max(1).optional(),
});

export const versionParamSchema = z.coerce.number().int().positive().max(999_999_999);
