import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';

/** Writes a file atomically: temp file in the same directory, then rename. */
export async function writeFileAtomic(path: string, contents: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, path);
}
