// How text is matched: text tracks, query=, /v1/search and the review page's search all fold
// it the same way. Pure, no DOM and no Node: the page loads it as /assets/text-match.js.

/** Text as tracks and queries compare it: case and spacing folded. */
export const foldText = (text: string): string => text.toLowerCase().replace(/\s+/g, '');

/** Folded search terms, from a query's terms (empty ones dropped). */
export const foldTerms = (terms: readonly string[]): string[] => terms.map(foldText).filter(Boolean);

/** Whether a reading contains one of the folded terms: what query= and search both match. */
export const textMatches = (text: string, foldedTerms: readonly string[]): boolean => {
  const folded = foldText(text);
  return foldedTerms.some((term) => folded.includes(term));
};
