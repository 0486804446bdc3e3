import { Gauge } from 'prom-client';
import { registry } from './metrics.js';

/** What one image or frame contributes to drift: input statistics and its predictions. */
export interface DriftSample {
  brightnessMean: number;
  brightnessStd: number;
  aspectRatio: number;
  megapixels: number;
  scores: number[];
  labels: string[];
}

type Feature = { kind: 'numeric'; edges: number[] } | { kind: 'categorical' };
export type DriftFeatures = Record<string, Feature>;

/** Binned features of an image model. Numeric bins are [edges[i-1], edges[i]) with open ends. */
export const DRIFT_FEATURES: DriftFeatures = {
  brightness_mean: { kind: 'numeric', edges: [32, 64, 96, 128, 160, 192, 224] },
  brightness_std: { kind: 'numeric', edges: [16, 32, 48, 64, 80, 96] },
  aspect_ratio: { kind: 'numeric', edges: [0.75, 1, 1.25, 1.5, 2] },
  resolution_mp: { kind: 'numeric', edges: [0.1, 0.3, 1, 2, 5] },
  score: { kind: 'numeric', edges: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] },
  detections: { kind: 'numeric', edges: [1, 2, 3, 6, 11] },
  label: { kind: 'categorical' },
};

/**
 * Binned features of a voice model, one sample per analysed track: the share of it that is
 * speech, and the length of each speech span. A camera whose microphone fails, or a new
 * kind of footage, moves these before anyone notices missing speech.
 */
export const AUDIO_DRIFT_FEATURES: DriftFeatures = {
  speech_ratio: { kind: 'numeric', edges: [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9] },
  speech_span_s: { kind: 'numeric', edges: [0.5, 1, 2, 4, 8, 16] },
};

/** What one analysed audio track contributes to its voice model's drift. */
export interface AudioDriftSample {
  speechRatio: number;
  spans: ReadonlyArray<{ startS: number; endS: number }>;
}

/** Counts per bin; categorical features key by label. */
export type Histogram = Record<string, number>;
export type DriftProfile = Record<string, Histogram>;

const binOf = (edges: number[], v: number) => {
  const i = edges.findIndex((e) => v < e);
  return String(i < 0 ? edges.length : i);
};

/** The (feature, bin) pairs one sample adds: one per numeric input value, one per detection. */
export function sampleBins(s: DriftSample): Array<[string, string]> {
  const edges = (f: string) => (DRIFT_FEATURES[f] as { edges: number[] }).edges;
  return [
    ['brightness_mean', binOf(edges('brightness_mean'), s.brightnessMean)],
    ['brightness_std', binOf(edges('brightness_std'), s.brightnessStd)],
    ['aspect_ratio', binOf(edges('aspect_ratio'), s.aspectRatio)],
    ['resolution_mp', binOf(edges('resolution_mp'), s.megapixels)],
    ['detections', binOf(edges('detections'), s.scores.length)],
    ...s.scores.map((v): [string, string] => ['score', binOf(edges('score'), v)]),
    ...s.labels.map((l): [string, string] => ['label', l]),
  ];
}

/** The (feature, bin) pairs one audio track adds: its speech ratio, and one per speech span. */
export function audioSampleBins(s: AudioDriftSample): Array<[string, string]> {
  const edges = (f: string) => (AUDIO_DRIFT_FEATURES[f] as { edges: number[] }).edges;
  return [
    ['speech_ratio', binOf(edges('speech_ratio'), s.speechRatio)],
    ...s.spans.map((span): [string, string] => ['speech_span_s', binOf(edges('speech_span_s'), span.endS - span.startS)]),
  ];
}

/** A profile (histograms) from each sample's bins: the exporter's reference. */
export function buildProfile(samples: ReadonlyArray<Array<[string, string]>>, features: DriftFeatures = DRIFT_FEATURES): DriftProfile {
  const profile: DriftProfile = Object.fromEntries(Object.keys(features).map((f) => [f, {}]));
  for (const bins of samples) for (const [f, bin] of bins) profile[f][bin] = (profile[f][bin] ?? 0) + 1;
  return profile;
}

/**
 * Population stability index between two histograms: sum over bins of
 * (cur - ref) * ln(cur / ref), proportions smoothed by 1e-4 so empty bins stay finite.
 */
export function psi(reference: Histogram, current: Histogram): number {
  const bins = new Set([...Object.keys(reference), ...Object.keys(current)]);
  const total = (h: Histogram) => Object.values(h).reduce((a, b) => a + b, 0);
  const rt = total(reference), ct = total(current);
  if (rt === 0 || ct === 0) return 0;
  let sum = 0;
  for (const b of bins) {
    const r = Math.max((reference[b] ?? 0) / rt, 1e-4);
    const c = Math.max((current[b] ?? 0) / ct, 1e-4);
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}

export const driftStatus = (value: number): 'ok' | 'watch' | 'drift' => (value < 0.1 ? 'ok' : value <= 0.25 ? 'watch' : 'drift');

/** Luma mean and spread of RGB pixels, sampling at most ~64k of them. */
export function brightness(data: Uint8Array, width: number, height: number): { mean: number; std: number } {
  const pixels = width * height;
  const step = Math.max(1, Math.floor(pixels / 65536));
  let n = 0, sum = 0, sq = 0;
  for (let p = 0; p < pixels; p += step) {
    const i = p * 3;
    const y = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
    sum += y;
    sq += y * y;
    n++;
  }
  const mean = sum / n;
  return { mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
}

/**
 * One drift observation: brightness from the model-input pixels (what the model saw, the
 * same wherever an image comes from), aspect ratio and size from the source image.
 */
export function driftSample(
  pixels: { data: Uint8Array; width: number; height: number },
  detections: readonly { label: string; score: number }[],
  source: { width: number; height: number } = pixels,
): DriftSample {
  const { mean, std } = brightness(pixels.data, pixels.width, pixels.height);
  return {
    brightnessMean: mean,
    brightnessStd: std,
    aspectRatio: source.width / source.height,
    megapixels: (source.width * source.height) / 1e6,
    scores: detections.map((d) => d.score),
    labels: detections.map((d) => d.label),
  };
}

/** Monitors of loaded versions: the gauge asks them for their PSI when /metrics is scraped. */
const publishers = new Set<() => void>();
const psiGauge = new Gauge({
  name: 'framewatch_drift_psi',
  help: 'Population stability index per feature against the export reference',
  labelNames: ['model', 'version', 'feature'],
  registers: [registry],
  collect() {
    for (const publish of publishers) publish();
  },
});
const round4 = (v: number) => Math.round(v * 10000) / 10000;

/** A rolling window of the last `window` samples for one model version, compared with its reference. */
export function createDriftMonitor(model: string, version: number, reference: DriftProfile, window: number, features: DriftFeatures = DRIFT_FEATURES) {
  const ring: Array<Array<[string, string]>> = [];
  const current: DriftProfile = Object.fromEntries(Object.keys(features).map((f) => [f, {}]));
  const labels = { model, version: String(version) };
  const report = () =>
    Object.keys(features).map((feature) => {
      const value = psi(reference[feature] ?? {}, current[feature]);
      return { feature, psi: round4(value), status: driftStatus(value), reference: reference[feature] ?? {}, current: { ...current[feature] } };
    });
  let observed = false; // no series before the first sample, as when the gauge was set per sample
  const publish = () => {
    if (!observed) return;
    for (const feature of Object.keys(features)) psiGauge.set({ ...labels, feature }, round4(psi(reference[feature] ?? {}, current[feature])));
  };
  publishers.add(publish);
  const observeBins = (bins: Array<[string, string]>): void => {
    observed = true;
    ring.push(bins);
    for (const [f, b] of bins) current[f][b] = (current[f][b] ?? 0) + 1;
    if (ring.length > window) {
      for (const [f, b] of ring.shift()!) if (--current[f][b] <= 0) delete current[f][b];
    }
  };
  return {
    /** One image or frame (an image model's sample). */
    observe: (sample: DriftSample): void => observeBins(sampleBins(sample)),
    /** One sample's (feature, bin) pairs, whatever the features (audioSampleBins for a voice model). */
    observeBins,
    /** The version is unloaded: its gauge keeps the last values and is no longer updated. */
    close(): void {
      publish();
      publishers.delete(publish);
    },
    report() {
      const features = report();
      const worst = features.reduce((a, b) => Math.max(a, b.psi), 0);
      return { model, version, window, samples: ring.length, status: ring.length === 0 ? 'ok' : driftStatus(worst), features };
    },
  };
}

export type DriftMonitor = ReturnType<typeof createDriftMonitor>;
