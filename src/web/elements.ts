import { element, queryElement } from './dom.js';

/** Every element of index.html the page drives, looked up once and checked (dom.ts). */
export function findPageElements() {
  return {
    model: element('model', HTMLSelectElement),
    token: element('token', HTMLInputElement),
    tokenField: element('token-field', HTMLElement),
    labels: element('labels', HTMLInputElement),
    fps: element('fps', HTMLInputElement),
    file: element('file', HTMLInputElement),
    drop: element('drop', HTMLElement),
    status: element('status', HTMLElement),
    phase: element('phase', HTMLElement),
    progress: element('progress', HTMLProgressElement),
    eta: element('eta', HTMLElement),
    cancel: element('cancel', HTMLButtonElement),
    error: element('error', HTMLElement),
    videoResult: element('video-result', HTMLElement),
    summary: element('summary', HTMLElement),
    player: element('player', HTMLVideoElement),
    overlay: element('overlay', HTMLCanvasElement),
    timeline: element('timeline', HTMLElement),
    cursor: element('cursor', HTMLElement),
    cueLane: element('cue-lane', HTMLElement),
    cards: element('cards', HTMLOListElement),
    reviewState: element('review-state', HTMLElement),
    search: element('search', HTMLInputElement),
    markMissed: element('mark-missed', HTMLButtonElement),
    showPaths: element('show-paths', HTMLInputElement),
    speed: element('speed', HTMLElement),
    downloadJson: element('download-json', HTMLButtonElement),
    downloadCsv: element('download-csv', HTMLButtonElement),
    downloadVtt: element('download-vtt', HTMLButtonElement),
    missed: element('missed', HTMLUListElement),
    imageResult: element('image-result', HTMLElement),
    imageCanvas: element('image-canvas', HTMLCanvasElement),
    detections: queryElement('#detections tbody', HTMLTableSectionElement),
    jobs: element('jobs', HTMLElement),
    jobsBody: queryElement('#jobs-table tbody', HTMLTableSectionElement),
    searchJobs: element('search-jobs', HTMLFormElement),
    searchText: element('search-text', HTMLInputElement),
    searchResults: element('search-results', HTMLUListElement),
  };
}

export type PageElements = ReturnType<typeof findPageElements>;
