// Typed element lookup: every element the page uses is checked to be of the type the code
// expects, so a changed index.html fails loudly at start instead of as undefined later.

/** An element class such as HTMLInputElement: what `instanceof` checks against. */
export type ElementType<T extends Element> = { new (): T; readonly name: string };

const described = (found: Element | null) => (found ? `a ${found.constructor.name}` : 'nothing');

/** The element with this id, checked to be a `type`; throws naming the id, the type and what was found. */
export function element<T extends HTMLElement>(id: string, type: ElementType<T>): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`#${id} should be a ${type.name}; the page has ${described(found)}`);
  return found;
}

/** The first element under `root` matching the selector, checked to be a `type`. */
export function queryElement<T extends Element>(selector: string, type: ElementType<T>, root: ParentNode = document): T {
  const found = root.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`'${selector}' should match a ${type.name}; the page has ${described(found)}`);
  return found;
}

/** Every element under `root` matching the selector, each checked to be a `type`. */
export function queryElements<T extends Element>(selector: string, type: ElementType<T>, root: ParentNode = document): T[] {
  return [...root.querySelectorAll(selector)].map((found) => {
    if (!(found instanceof type)) throw new Error(`'${selector}' should match only ${type.name}s; the page has ${described(found)}`);
    return found;
  });
}

/** A canvas's 2D context; a browser without one cannot show boxes, which is worth saying. */
export function context2d(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error(`#${canvas.id}: this browser gives no 2D canvas context`);
  return ctx;
}
