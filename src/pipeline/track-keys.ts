import type { Detection } from '../shared/job-result.js';
import { foldText } from '../shared/text-match.js';

/** Levenshtein distance between two strings, by characters. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * A track key per detection for text readers: the folded text, with near-identical readings
 * of one line (at most one character in five differing from a reading seen before) merged
 * into that reading's key. Other detections keep their label.
 */
const RECENT_READINGS = 256;

export function textTrackKeys(similarity = 0.8): (d: Detection) => string {
  const seen: string[] = [];
  const cache = new Map<string, string>();
  return (d) => {
    if (d.text === undefined) return d.label;
    const folded = foldText(d.text);
    let key = cache.get(folded);
    if (key === undefined) {
      // Compared with the most recent distinct readings only, so noisy OCR over a long video stays linear.
      key = seen.find((k) => 1 - editDistance(k, folded) / Math.max(k.length, folded.length, 1) >= similarity) ?? folded;
      if (key === folded) {
        seen.unshift(folded);
        seen.length = Math.min(seen.length, RECENT_READINGS);
      }
      cache.set(folded, key);
    }
    return `${d.label}\u0000${key}`;
  };
}
