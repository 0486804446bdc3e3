import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);

/** The ffmpeg and ffprobe binaries every media call runs, and where they came from. */
export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
  /**
   * 'config': FRAMEWATCH_FFMPEG_PATH and FRAMEWATCH_FFPROBE_PATH; 'system': both found on PATH
   * (Debian's build, kept patched); 'npm': the static builds from npm (ffmpeg 2018, ffprobe 2023).
   */
  source: 'config' | 'system' | 'npm';
  /** Hardware decoding (`-hwaccel`): NVDEC on the GPU image; unset = CPU decoding. */
  hwaccel?: 'cuda';
}

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const onPath = (name: string, pathVar = process.env.PATH ?? ''): string | undefined =>
  pathVar.split(delimiter).filter(Boolean).map((dir) => join(dir, name)).find(executable);

/**
 * Picks one ffmpeg and one ffprobe: both configured paths, else a system pair found on PATH,
 * else the npm packages' static builds. A pair is never mixed across sources, so probing and
 * decoding read a file the same way.
 */
export function resolveMediaTools(configured: { ffmpegPath?: string; ffprobePath?: string; ffmpegHwaccel?: 'cuda' } = {}): MediaTools {
  const tools = pickBinaries(configured);
  return configured.ffmpegHwaccel ? { ...tools, hwaccel: configured.ffmpegHwaccel } : tools;
}

/** The config schema is where "both paths or neither" is enforced, with the other config errors. */
function pickBinaries(configured: { ffmpegPath?: string; ffprobePath?: string }): MediaTools {
  if (configured.ffmpegPath && configured.ffprobePath) return { ffmpeg: configured.ffmpegPath, ffprobe: configured.ffprobePath, source: 'config' };
  const system = { ffmpeg: onPath('ffmpeg'), ffprobe: onPath('ffprobe') };
  if (system.ffmpeg && system.ffprobe) return { ffmpeg: system.ffmpeg, ffprobe: system.ffprobe, source: 'system' };
  return {
    ffmpeg: (require('@ffmpeg-installer/ffmpeg') as { path: string }).path,
    ffprobe: (require('@ffprobe-installer/ffprobe') as { path: string }).path,
    source: 'npm',
  };
}

let current: MediaTools | undefined;

/** Sets the tools every later media call uses (the server does this once at start). */
export function useMediaTools(tools: MediaTools): void {
  current = tools;
}

/** The tools in use: those set by useMediaTools, else the default resolution. */
export function mediaTools(): MediaTools {
  current ??= resolveMediaTools();
  return current;
}

/** ffmpeg binary in use (tests and the bench build their clips with it). */
export const ffmpegPath = (): string => mediaTools().ffmpeg;

/** First line of `-version` of both binaries, logged at start. */
export async function mediaToolVersions(tools: MediaTools = mediaTools()): Promise<{ ffmpeg: string; ffprobe: string }> {
  const first = async (bin: string) => (await promisify(execFile)(bin, ['-hide_banner', '-version'])).stdout.split('\n')[0].trim();
  const [ffmpeg, ffprobe] = await Promise.all([first(tools.ffmpeg), first(tools.ffprobe)]);
  return { ffmpeg, ffprobe };
}

/**
 * Keeps the asked hardware decoding only when this ffmpeg has it (`ffmpeg -hwaccels`); the
 * npm static build has no NVDEC, for example. Returns the tools to use and, when it dropped
 * the hwaccel, why.
 */
export async function checkHwaccel(tools: MediaTools): Promise<{ tools: MediaTools; dropped?: string }> {
  if (!tools.hwaccel) return { tools };
  const listed = await promisify(execFile)(tools.ffmpeg, ['-hide_banner', '-hwaccels']).then((r) => r.stdout, () => '');
  if (listed.split('\n').map((l) => l.trim()).includes(tools.hwaccel)) return { tools };
  const { hwaccel: _dropped, ...cpu } = tools;
  return { tools: cpu, dropped: `this ffmpeg (${tools.ffmpeg}) lists no '${tools.hwaccel}' hwaccel; decoding on the CPU` };
}
