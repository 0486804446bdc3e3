import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ENV_NAMES } from '../src/config/index.js';

// The README introduces; docs/ is the reference. These keep the reference whole and its links true.

const docs = readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f));
const read = (p: string) => readFileSync(p, 'utf8');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
const anchorsOf = (file: string) => new Set(read(file).split('\n').filter((l) => /^#+ /.test(l)).map((l) => anchor(l.replace(/^#+ /, ''))));

describe('docs', () => {
  it.each(['README.md', ...docs])('every relative link in %s points to a file (and heading) that exists', (file) => {
    const text = read(file).replace(/```[\s\S]*?```/g, '');
    const broken = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map(([, target]) => target).filter((t) => !/^(https?:|mailto:)/.test(t)).filter((target) => {
      const [path, hash] = target.split('#');
      const resolved = path ? join(dirname(file), path) : file;
      if (!existsSync(resolved)) return true;
      return hash !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(hash);
    });
    expect(broken).toEqual([]);
  });

  it('documents every FRAMEWATCH_ variable the config reads', () => {
    const reference = read('docs/configuration.md') + read('docs/deployment.md');
    expect(Object.values(ENV_NAMES).filter((name) => !reference.includes(`\`${name}\``))).toEqual([]);
  });

  it('commits the review page screenshot the browser test makes, at 1280x800', async () => {
    const { format, width, height } = await sharp('docs/images/review-page.png').metadata();
    expect({ format, width, height }).toEqual({ format: 'png', width: 1280, height: 800 });
  });
});
