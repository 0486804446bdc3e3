// Loud sounds: sudden rises of the short-term level above the track's own background. Pure,
// fed the same 16 kHz stream as the voice model, window by window.

export interface LoudEvent {
  timeS: number;
  endS: number;
  /** The loudest 50 ms RMS level of the event, dBFS. */
  level: number;
  /** The background level when it began, dBFS. */
  backgroundLevel: number;
}

export interface LoudOptions {
  sampleRate: number;
  /** Level windows (RMS), seconds. */
  windowS?: number;
  /** How much of the past the background is taken from, seconds. */
  backgroundS?: number;
  /** The background is this quantile of the past levels: low, so an event barely moves it. */
  backgroundQuantile?: number;
  /** An event starts this far above the background (dB) ... */
  riseDb?: number;
  /** ... and ends when the level falls below background + this. */
  fallDb?: number;
  /** Nothing quieter than this is loud, whatever the background (a click in digital silence). */
  minLevelDbfs?: number;
  /** The background needs this much past before any event (a track that starts loud is its own background). */
  minHistoryS?: number;
}

const DEFAULTS = { windowS: 0.05, backgroundS: 3, backgroundQuantile: 0.3, riseDb: 15, fallDb: 8, minLevelDbfs: -40, minHistoryS: 0.5 };
const SILENCE_DBFS = -100;
const round2 = (v: number) => Math.round(v * 100) / 100;

/** RMS of samples in dBFS (full scale 1.0), -100 for silence. */
export function rmsDbfs(samples: Float32Array): number {
  let sq = 0;
  for (let i = 0; i < samples.length; i++) sq += samples[i] * samples[i];
  const rms = Math.sqrt(sq / Math.max(1, samples.length));
  return rms > 0 ? Math.max(SILENCE_DBFS, 20 * Math.log10(rms)) : SILENCE_DBFS;
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * A streaming loud-sound detector: `push` any number of samples, `finish` for the events.
 * The background adapts (a quantile of the last few seconds' levels), so a steady loud
 * passage becomes the background and only an onset counts.
 */
export function createLoudDetector(options: LoudOptions) {
  const o = { ...DEFAULTS, ...options };
  const windowSamples = Math.round(o.windowS * o.sampleRate);
  const historyWindows = Math.round(o.backgroundS / o.windowS);
  const minHistory = Math.round(o.minHistoryS / o.windowS);
  const window = new Float32Array(windowSamples);
  const past: number[] = [];
  const events: LoudEvent[] = [];
  let filled = 0, index = 0;
  let open: LoudEvent | undefined;

  const onLevel = (level: number) => {
    const startS = (index * windowSamples) / o.sampleRate;
    const endS = ((index + 1) * windowSamples) / o.sampleRate;
    const background = past.length >= minHistory ? quantile(past, o.backgroundQuantile) : undefined;
    if (open) {
      if (background !== undefined && level < background + o.fallDb) open = undefined;
      else {
        open.endS = round2(endS);
        open.level = round2(Math.max(open.level, level));
      }
    } else if (background !== undefined && level >= background + o.riseDb && level >= o.minLevelDbfs) {
      open = { timeS: round2(startS), endS: round2(endS), level: round2(level), backgroundLevel: round2(background) };
      events.push(open);
    }
    past.push(level);
    if (past.length > historyWindows) past.shift();
    index++;
  };

  return {
    push(samples: Float32Array): void {
      for (let offset = 0; offset < samples.length;) {
        const take = Math.min(windowSamples - filled, samples.length - offset);
        window.set(samples.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === windowSamples) {
          onLevel(rmsDbfs(window));
          filled = 0;
        }
      }
    },
    /** The events so far, offset by `offsetS` (where the samples began in the file). */
    finish(offsetS = 0): LoudEvent[] {
      return events.map((e) => ({ ...e, timeS: round2(e.timeS + offsetS), endS: round2(e.endS + offsetS) }));
    },
  };
}
