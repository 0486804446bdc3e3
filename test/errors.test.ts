import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, FramewatchError, formatError } from '../src/errors/index.js';

describe('error catalogue', () => {
  const reference = readFileSync('docs/api.md', 'utf8');

  it.each(Object.entries(ERROR_CATALOGUE))('%s has a status and is documented in docs/api.md', (code, entry) => {
    expect(entry.status).toBeGreaterThanOrEqual(400);
    expect(reference).toContain(`\`${code}\``);
  });

  it('pins the wire format', () => {
    expect(formatError(new FramewatchError('MODEL_NOT_FOUND', "model 'x' is not in the repository", { name: 'x' }))).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "MODEL_NOT_FOUND",
          "details": {
            "name": "x",
          },
          "message": "model 'x' is not in the repository",
        },
      }
    `);
  });
});
