import type { Config } from '../../config/index.js';

// The bounds of one redaction, from the config: the output's bytes and the wall time.

export type RedactionLimits = Pick<Config, 'redactMaxBytes' | 'redactMaxBitsPerPixel' | 'redactTimeoutBaseMs' | 'redactTimeoutFactor'>;

const MIB = 1024 * 1024;
/** Room for the container's index and the audio (AAC at 128 kbit/s is 16 KiB a second). */
const OVERHEAD_BYTES = MIB;
const AUDIO_BYTES_PER_S = 32 * 1024;
/** setTimeout's longest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The output's size limit: its frames at the configured bits per pixel plus the container and audio, under the absolute cap. */
export function outputByteLimit(video: { width: number; height: number }, frames: number, fps: number, limits: RedactionLimits): number {
  const pictureBytes = (video.width * video.height * frames * limits.redactMaxBitsPerPixel) / 8;
  const relative = Math.ceil(pictureBytes + OVERHEAD_BYTES + AUDIO_BYTES_PER_S * (frames / fps));
  return Math.min(limits.redactMaxBytes, relative);
}

/** How long a redaction of a video of `durationS` may run, face detection and encoding together. */
export const redactionTimeLimitMs = (durationS: number, limits: RedactionLimits): number =>
  Math.min(MAX_TIMER_MS, Math.round(limits.redactTimeoutBaseMs + limits.redactTimeoutFactor * durationS * 1000));
