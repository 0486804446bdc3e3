import type { ScoreRecord } from '../pipeline/index.js';

/** `text`: what a text reader read (a detection's text; a segment's texts joined by ' | '). */
export const CSV_HEADER = 'path,sha256,model,version,kind,label,score,x,y,width,height,startS,endS,error,text';

const cell = (v: unknown): string => {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** CSV rows for one record: one per detection or segment, or one row for a file with none. */
export function recordsToCsv(r: ScoreRecord): string {
  const head = [r.path, r.sha256, r.model.name, r.model.version, r.kind];
  const rows: unknown[][] = [];
  for (const d of r.detections ?? []) rows.push([...head, d.label, d.score, d.box.x, d.box.y, d.box.width, d.box.height, '', '', '', d.text]);
  for (const s of r.segments ?? []) rows.push([...head, s.labels.map((l) => l.label).join(' '), s.labels[0]?.maxScore, '', '', '', '', s.startS, s.endS, '', s.texts?.join(' | ')]);
  if (rows.length === 0) rows.push([...head, '', '', '', '', '', '', '', '', r.error?.code ?? '', '']);
  return rows.map((row) => row.map(cell).join(',')).join('\n') + '\n';
}
