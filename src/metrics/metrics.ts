import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The one registry: every framewatch metric, defined once, with fixed names. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'framewatch_' });

const LATENCY = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const mv = ['model', 'version'] as const;

export const metrics = {
  httpRequests: new Counter({ name: 'framewatch_http_requests_total', help: 'HTTP requests by route pattern', labelNames: ['route', 'method', 'status'], registers: [registry] }),
  httpDuration: new Histogram({ name: 'framewatch_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['route', 'method', 'status'], buckets: LATENCY, registers: [registry] }),
  inferenceDuration: new Histogram({ name: 'framewatch_inference_duration_seconds', help: 'One session.run (one batch)', labelNames: [...mv, 'provider'], buckets: LATENCY, registers: [registry] }),
  queueDuration: new Histogram({ name: 'framewatch_queue_duration_seconds', help: 'Time an item waited in the batcher', labelNames: mv, buckets: [0.001, ...LATENCY], registers: [registry] }),
  batchSize: new Histogram({ name: 'framewatch_batch_size', help: 'Items per batch run', labelNames: mv, buckets: [1, 2, 4, 8, 16, 32, 64], registers: [registry] }),
  queueDepth: new Gauge({ name: 'framewatch_queue_depth', help: 'Items waiting in the batcher', labelNames: mv, registers: [registry] }),
  rejected: new Counter({ name: 'framewatch_requests_rejected_total', help: 'Requests rejected by the batcher', labelNames: [...mv, 'reason'], registers: [registry] }),
  preprocessDuration: new Histogram({ name: 'framewatch_preprocess_duration_seconds', help: 'Shared preprocessing per image or frame', labelNames: mv, buckets: [0.001, ...LATENCY], registers: [registry] }),
  decodeDuration: new Histogram({ name: 'framewatch_decode_duration_seconds', help: 'Image decode, or whole-video frame decoding', labelNames: ['kind'], buckets: [0.001, ...LATENCY], registers: [registry] }),
  videoFrames: new Counter({ name: 'framewatch_video_frames_total', help: 'Video frames run through a model', labelNames: mv, registers: [registry] }),
  predictions: new Counter({ name: 'framewatch_predictions_total', help: 'Detections returned, by label', labelNames: [...mv, 'label'], registers: [registry] }),
  predictionScore: new Histogram({ name: 'framewatch_prediction_score', help: 'Scores of returned detections', labelNames: mv, buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1], registers: [registry] }),
  sessionsOpen: new Gauge({ name: 'framewatch_sessions_open', help: 'ONNX Runtime sessions open or opening, one worker thread each', registers: [registry] }),
  modelReady: new Gauge({ name: 'framewatch_model_ready', help: '1 when the version serves', labelNames: [...mv, 'provider'], registers: [registry] }),
  chunkDuration: new Histogram({ name: 'framewatch_chunk_duration_seconds', help: 'One video chunk: decode, infer and postprocess its range', labelNames: ['model'], buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300], registers: [registry] }),
  chunksStalled: new Counter({ name: 'framewatch_chunks_stalled_total', help: 'Chunks whose worker stopped renewing its lock (crashed or blocked); BullMQ hands them to another worker', registers: [registry] }),
  jobs: new Gauge({ name: 'framewatch_jobs', help: 'Video queue jobs by queue and state (shared mode: the BullMQ queues; embedded: video jobs)', labelNames: ['queue', 'state'], registers: [registry] }),
  reviewFlaggedRatio: new Histogram({ name: 'framewatch_review_flagged_ratio', help: 'Flagged seconds over video seconds per video', labelNames: ['model'], buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1], registers: [registry] }),
  audioDuration: new Histogram({ name: 'framewatch_audio_analysis_duration_seconds', help: 'A video job\'s audio track: decode, voice model and loudness', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: [registry] }),
  speechRatio: new Histogram({ name: 'framewatch_speech_ratio', help: 'Seconds of speech over seconds of audio per video (drift of what the voice model hears)', labelNames: mv, buckets: [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1], registers: [registry] }),
  pipelineDuration: new Histogram({ name: 'framewatch_pipeline_duration_seconds', help: 'One image through a pipeline, decode to answer', labelNames: ['pipeline', 'version'], buckets: LATENCY, registers: [registry] }),
  pipelineStepDuration: new Histogram({ name: 'framewatch_pipeline_step_duration_seconds', help: 'One pipeline step for one image (all its crops)', labelNames: ['pipeline', 'version', 'step'], buckets: LATENCY, registers: [registry] }),
  ruleEvents: new Counter({ name: 'framewatch_rule_events_total', help: 'Review rule events (enter, exit, cross, dwell, count, match) by profile and rule', labelNames: ['profile', 'rule', 'kind'], registers: [registry] }),
  reviewDecisions: new Counter({ name: 'framewatch_review_decisions_total', help: 'Reviewers\' decisions on segments (confirmed or dismissed)', labelNames: [...mv, 'decision'], registers: [registry] }),
  reviewTimeSaved: new Histogram({ name: 'framewatch_review_time_saved_ratio', help: '1 - active review time / video duration, per job when its review completes', labelNames: mv, buckets: [-1, 0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1], registers: [registry] }),
};

/** Records the detections returned for one image or frame. */
export function recordPredictions(model: { name: string; version: number }, detections: readonly { label: string; score: number }[]): void {
  const version = String(model.version);
  for (const d of detections) {
    metrics.predictions.inc({ model: model.name, version, label: d.label });
    metrics.predictionScore.observe({ model: model.name, version }, d.score);
  }
}
