/** What the first bytes of an upload say it is. Names and labels are never trusted. */
export interface SniffResult {
  /** 'audio' files take the video path, where ffprobe answers NO_VIDEO_STREAM. */
  kind: 'image' | 'video' | 'audio';
  format: string;
}

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) => sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

/** Bytes needed by sniffMedia to decide. */
export const SNIFF_BYTES = 32;

/** Detects the container or image format from magic bytes; undefined when unknown. */
export function sniffMedia(b: Uint8Array): SniffResult | undefined {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { kind: 'image', format: 'jpeg' };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', format: 'png' };
  if (ascii(b, 0, 4) === 'GIF8') return { kind: 'image', format: 'gif' };
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return { kind: 'image', format: 'tiff' };
  if (ascii(b, 0, 4) === 'RIFF') {
    const sub = ascii(b, 8, 12);
    if (sub === 'WEBP') return { kind: 'image', format: 'webp' };
    if (sub === 'AVI ') return { kind: 'video', format: 'avi' };
    if (sub === 'WAVE') return { kind: 'audio', format: 'wav' };
  }
  if (ascii(b, 0, 3) === 'ID3' || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0)) return { kind: 'audio', format: 'mp3' };
  if (ascii(b, 0, 4) === 'OggS') return { kind: 'video', format: 'ogg' };
  if (ascii(b, 0, 4) === 'fLaC') return { kind: 'audio', format: 'flac' };
  if (ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (brand === 'avif' || brand === 'avis') return { kind: 'image', format: 'avif' };
    if (brand === 'qt  ') return { kind: 'video', format: 'mov' };
    if (brand.startsWith('M4A') || brand.startsWith('M4B')) return { kind: 'audio', format: 'm4a' };
    return { kind: 'video', format: 'mp4' };
  }
  if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return { kind: 'video', format: 'matroska' };
  return undefined;
}
