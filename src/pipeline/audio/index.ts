export { analyseAudio, type AudioAnalysisOptions } from './analyse-audio.js';

/** The bundled voice model's name: video jobs hear speech with it when it is loaded. */
export const VOICE_MODEL = 'voice-detector';
export { speechSpans, speechRatio, type SpeechSpan } from '../../tasks/index.js';
export { createLoudDetector, rmsDbfs, type LoudEvent, type LoudOptions } from './loud-events.js';
export { joinAudioParts } from './join-parts.js';
