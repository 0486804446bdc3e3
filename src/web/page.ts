import { createApi, type Api } from './api.js';
import { createColours, type Colours } from './draw.js';
import { findPageElements, type PageElements } from './elements.js';
import { createPageState, type PageState } from './state.js';

/** What every part of the page works with: its elements, its state, the API client, the label colours. */
export interface Page {
  els: PageElements;
  state: PageState;
  api: Api;
  colourOf: Colours;
}

/** The page's context, created once at start. */
export function createPage(): Page {
  const els = findPageElements();
  return { els, state: createPageState(), api: createApi(() => els.token.value.trim()), colourOf: createColours() };
}

/** The parts of the page one at a time: the upload form alone (home), or with a video's review, an image's boxes, or the jobs list. */
export type Section = 'home' | 'video' | 'image' | 'jobs';

/** Shows one section; while a result is on screen the body says so (app.css hides the drop zone). */
export function showSection(els: PageElements, section: Section) {
  els.videoResult.hidden = section !== 'video';
  els.imageResult.hidden = section !== 'image';
  els.jobs.hidden = section !== 'jobs';
  document.body.classList.toggle('reviewing', section === 'video' || section === 'image');
}
