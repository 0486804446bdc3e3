// Shared by the server and the review page: pure data, no Node and no DOM.

/** Every stable error code framewatch returns, with its HTTP status and a one-line meaning. */
export const ERROR_CATALOGUE = {
  INVALID_INPUT: { status: 400, description: 'The request is malformed or a parameter is out of range.' },
  UNAUTHORIZED: { status: 401, description: 'A bearer token is required and was missing or wrong.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, description: 'The body is not an image or video format framewatch reads.' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The upload exceeds the configured byte limit.' },
  REQUEST_TIMEOUT: { status: 408, description: 'The client sent no body bytes for longer than the idle limit.' },
  HEADERS_TOO_LARGE: { status: 431, description: 'The request line or headers exceed the server limit.' },
  IMAGE_TOO_LARGE: { status: 413, description: 'The image exceeds the configured pixel limit.' },
  MODEL_NOT_FOUND: { status: 404, description: 'No model of that name is in the repository.' },
  VERSION_NOT_FOUND: { status: 404, description: 'The model has no version of that number.' },
  MODEL_NOT_READY: { status: 503, description: 'The model or version exists but is not ready to serve.' },
  INFERENCE_FAILED: { status: 500, description: 'ONNX Runtime or postprocessing failed.' },
  SKEW_DETECTED: { status: 503, description: 'The version failed its golden replay at load (train/serve skew); it does not serve.' },
  QUEUE_FULL: { status: 503, description: 'The model\'s queue, or the video backlog, is full; retry after the Retry-After header.' },
  QUEUE_UNAVAILABLE: { status: 503, description: 'The shared video queue (Redis) is unreachable; retry after the Retry-After header.' },
  STORAGE_FULL: { status: 507, description: 'The data directory\'s disk is full: video uploads and job writes cannot be stored; images keep working.' },
  TIMEOUT: { status: 504, description: 'The request was not started before its deadline and was dropped.' },
  INVALID_MEDIA: { status: 422, description: 'The media cannot be read (truncated or corrupt); details carry ffmpeg\'s reason.' },
  NO_VIDEO_STREAM: { status: 422, description: 'The media file has no video stream (for example audio only), and the model needs pictures.' },
  NO_AUDIO_STREAM: { status: 422, description: 'The media file has no audio stream, and the model hears audio (a voice detector).' },
  JOB_NOT_FOUND: { status: 404, description: 'No job with that id.' },
  SEGMENT_NOT_FOUND: { status: 404, description: 'The job has no segment with that number, or no thumbnail yet.' },
  PROFILE_NOT_FOUND: { status: 404, description: 'No stored review profile of that name (or that version).' },
  REDACTION_NOT_FOUND: { status: 404, description: 'The job has no redaction with that id.' },
  NO_CONFIRMED_SEGMENTS: { status: 409, description: 'A redaction of the confirmed segments only, and the job\'s review has confirmed none.' },
  REDACTION_TOO_LARGE: { status: 413, description: 'The redacted video reached its size limit (FRAMEWATCH_REDACT_MAX_BYTES, FRAMEWATCH_REDACT_MAX_BITS_PER_PIXEL); the redaction failed and left no video.' },
  REDACTION_TIMEOUT: { status: 504, description: 'The redaction ran past its time limit (FRAMEWATCH_REDACT_TIMEOUT_*); ffmpeg was stopped and no video was left.' },
  TUNING_NOT_FOUND: { status: 404, description: 'No tuning run with that id (the server keeps its last 20).' },
  TUNING_RUNNING: { status: 409, description: 'A tuning run is in progress; runs go one at a time, or they would measure each other.' },
  JOB_NOT_FINISHED: { status: 409, description: 'The job has not succeeded, so it has no segments to review yet.' },
  CANCELLED: { status: 409, description: 'The job was cancelled before it finished.' },
  INTERRUPTED: { status: 500, description: 'The server stopped while the job ran; the job is marked failed.' },
  NOT_FOUND: { status: 404, description: 'No route matches the request.' },
  INTERNAL: { status: 500, description: 'An unexpected error; the server keeps serving.' },
  EXPORT_FAILED: { status: 500, description: 'The exporter could not build a repository entry.' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Every code, for schemas that check one (a job record's error). */
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]];
