export { analyseAudio, type AudioAnalysisOptions } from './analyse-audio.js';
export { speechSpans, speechRatio, type SpeechSpan } from './speech-spans.js';
export { createLoudDetector, rmsDbfs, type LoudEvent, type LoudOptions } from './loud-events.js';
