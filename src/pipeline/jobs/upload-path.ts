import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FramewatchError } from '../../errors/index.js';

/**
 * Throws INVALID_INPUT unless `path` is a file directly in `uploadDir`: absolute, no `..`, its
 * folder the upload folder itself once symlinks are resolved, and not itself a symlink. A
 * shared-mode worker takes the path from Redis, and whoever can write there must not make it
 * read or delete any other file.
 */
export async function assertUploadPath(uploadDir: string, path: string): Promise<void> {
  const refuse = (why: string) => new FramewatchError('INVALID_INPUT', `the job's upload path is refused: ${why}`, { path });
  if (!isAbsolute(path) || path.split(/[\\/]/).includes('..')) throw refuse('not an absolute path without ..');
  if (dirname(resolve(path)) !== resolve(uploadDir)) throw refuse(`not a file directly in ${uploadDir}`);
  const [parent, folder] = await Promise.all([realpath(dirname(path)).catch(() => undefined), realpath(uploadDir).catch(() => undefined)]);
  if (!parent || parent !== folder) throw refuse('its folder resolves outside the upload folder');
  const info = await lstat(path).catch(() => undefined);
  if (info && !info.isFile()) throw refuse('not a plain file');
}

/** Whether `path` passes assertUploadPath. */
export const isUploadPath = (uploadDir: string, path: string): Promise<boolean> =>
  assertUploadPath(uploadDir, path).then(() => true, () => false);
