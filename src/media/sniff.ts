import { open } from 'node:fs/promises';
import { FramewatchError } from '../errors/index.js';

/** What the first bytes of an upload say it is. Names and labels are never trusted. */
export interface SniffResult {
  /** 'audio' files take the video path, where ffprobe answers NO_VIDEO_STREAM. */
  kind: 'image' | 'video' | 'audio';
  format: string;
  /**
   * For audio and video: the one ffmpeg demuxer allowed to read the file (passed as `-f`),
   * so ffmpeg never guesses a format, and never picks a playlist, concat or image-sequence
   * demuxer that would open other files.
   */
  demuxer?: string;
}

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) => sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

/** Bytes needed by sniffMedia to decide. */
export const SNIFF_BYTES = 32;

const media = (kind: 'video' | 'audio', format: string, demuxer: string): SniffResult => ({ kind, format, demuxer });

function sniffIsoBmff(b: Uint8Array): SniffResult | undefined {
  const boxSize = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  // A real ftyp box is small: brand, version and a few compatible brands.
  if (ascii(b, 4, 8) !== 'ftyp' || boxSize < 16 || boxSize > 1024) return undefined;
  const brand = ascii(b, 8, 12);
  if (brand === 'avif' || brand === 'avis') return { kind: 'image', format: 'avif' };
  if (brand === 'qt  ') return media('video', 'mov', 'mov');
  if (brand.startsWith('M4A') || brand.startsWith('M4B')) return media('audio', 'm4a', 'mov');
  return media('video', 'mp4', 'mov');
}

/**
 * Detects the container or image format from magic bytes; undefined when unknown. Strict on
 * purpose: an ID3 tag or an MPEG audio frame is audio, whatever follows it. MPEG-TS is not
 * named: the npm ffprobe build (2023) crashes (SIGSEGV) on every transport stream.
 */
export function sniffMedia(b: Uint8Array): SniffResult | undefined {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return { kind: 'image', format: 'jpeg' };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: 'image', format: 'png' };
  if (ascii(b, 0, 4) === 'GIF8') return { kind: 'image', format: 'gif' };
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return { kind: 'image', format: 'tiff' };
  if (ascii(b, 0, 4) === 'RIFF') {
    const sub = ascii(b, 8, 12);
    if (sub === 'WEBP') return { kind: 'image', format: 'webp' };
    if (sub === 'AVI ') return media('video', 'avi', 'avi');
    if (sub === 'WAVE') return media('audio', 'wav', 'wav');
    return undefined;
  }
  if (ascii(b, 0, 3) === 'ID3' || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0)) return media('audio', 'mp3', 'mp3');
  if (ascii(b, 0, 4) === 'OggS') return media('video', 'ogg', 'ogg');
  if (ascii(b, 0, 4) === 'fLaC') return media('audio', 'flac', 'flac');
  if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return media('video', 'matroska', 'matroska');
  return sniffIsoBmff(b);
}

/** Sniffs a file on disk; INVALID_INPUT when it is empty, undefined when the format is unknown. */
export async function sniffFile(path: string): Promise<SniffResult | undefined> {
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    if (bytesRead === 0) throw new FramewatchError('INVALID_INPUT', 'the file is empty');
    return sniffMedia(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
