import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FramewatchError } from '../errors/index.js';
import { profileSchema, type Profile } from '../shared/profile.js';

/**
 * Review profiles by name, each save a new version: `<dataDir>/profiles/<name>/<version>.json`.
 * A version is claimed by creating its file exclusively, so two saves of one name at once
 * (two API replicas on the shared volume) get two versions and never overwrite each other.
 */
export interface ProfileStore {
  /** Stores the profile as the next version of its name. */
  save(profile: Profile): Promise<Profile & { version: number }>;
  /** The newest version of `name`, or the one asked for; PROFILE_NOT_FOUND otherwise. */
  get(name: string, version?: number): Promise<Profile & { version: number }>;
  /** Every name with its newest version. */
  list(): Promise<Array<{ name: string; version: number; rules: number }>>;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function createProfileStore(dataDir: string): ProfileStore {
  const root = join(dataDir, 'profiles');
  const versionsOf = async (name: string) =>
    (await readdir(join(root, name)).catch(() => [] as string[])).map((f) => /^(\d+)\.json$/.exec(f)?.[1]).filter(Boolean).map(Number).sort((a, b) => a - b);
  const notFound = (name: string, version?: number) =>
    new FramewatchError('PROFILE_NOT_FOUND', version === undefined ? `no review profile '${name}'` : `review profile '${name}' has no version ${version}`);

  async function get(name: string, version?: number): Promise<Profile & { version: number }> {
    if (!NAME_RE.test(name)) throw notFound(name, version);
    const wanted = version ?? (await versionsOf(name)).at(-1);
    if (wanted === undefined) throw notFound(name);
    const text = await readFile(join(root, name, `${wanted}.json`), 'utf8').catch(() => undefined);
    if (text === undefined) throw notFound(name, version);
    return { ...profileSchema.parse(JSON.parse(text)), version: wanted };
  }

  return {
    get,
    async save(profile) {
      await mkdir(join(root, profile.name), { recursive: true });
      for (let attempt = 0; attempt < 100; attempt++) {
        const version = ((await versionsOf(profile.name)).at(-1) ?? 0) + 1;
        const stored = { ...profile, version };
        try {
          const file = await open(join(root, profile.name, `${version}.json`), 'wx');
          await file.writeFile(JSON.stringify(stored));
          await file.close();
          return stored;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      throw new FramewatchError('INTERNAL', `could not claim a version of profile '${profile.name}'`);
    },
    async list() {
      const names = (await readdir(root).catch(() => [] as string[])).filter((n) => NAME_RE.test(n)).sort();
      const rows = await Promise.all(names.map(async (name) => {
        const version = (await versionsOf(name)).at(-1);
        return version === undefined ? undefined : { name, version, rules: (await get(name, version)).rules.length };
      }));
      return rows.filter((r): r is NonNullable<typeof r> => r !== undefined);
    },
  };
}
