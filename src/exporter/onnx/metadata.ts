import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';

/** metadata_props of an ONNX model file. */
export async function readOnnxMetadata(path: string): Promise<Record<string, string>> {
  const model = onnxProto.onnx.ModelProto.decode(await readFile(path));
  return Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}

/**
 * Labels from Ultralytics' `names` property, a Python dict literal such as
 * "{0: 'person', 1: 'bicycle'}". Returns undefined when absent or unreadable.
 */
export function parseNamesProperty(names: string | undefined): string[] | undefined {
  if (!names) return undefined;
  const entries = [...names.matchAll(/(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g)].map(
    (m) => [Number(m[1]), (m[2] ?? m[3]).replace(/\\(.)/g, '$1')] as const,
  );
  if (entries.length === 0) return undefined;
  const labels: string[] = [];
  for (const [i, label] of entries) labels[i] = label;
  return Array.from(labels, (l, i) => l ?? String(i));
}
