import type { ImagePrediction } from './api.js';
import { context2d } from './dom.js';
import { drawBoxes } from './draw.js';
import { showSection, type Page } from './page.js';

/** An image's detections: drawn on the picked file, and listed in the table. */
export function showImage({ els, colourOf }: Page, file: File, result: ImagePrediction) {
  els.status.hidden = true;
  showSection(els, 'image');
  // The label filter applies to images as to videos.
  const wanted = els.labels.value.split(',').map((l) => l.trim()).filter(Boolean);
  const detections = wanted.length ? result.detections.filter((d) => wanted.includes(d.label)) : result.detections;
  const img = new Image();
  img.onload = () => {
    const canvas = els.imageCanvas;
    canvas.width = result.image.width;
    canvas.height = result.image.height;
    const ctx = context2d(canvas);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    drawBoxes(ctx, detections, 1, result.image, colourOf);
    canvas.dataset.boxes = String(detections.length);
  };
  img.src = URL.createObjectURL(file);
  els.detections.replaceChildren(
    ...detections.map((d) => {
      const tr = document.createElement('tr');
      for (const cell of [d.label, `${(d.score * 100).toFixed(1)}%`, ...[d.box.x, d.box.y, d.box.width, d.box.height].map(Math.round)]) {
        const td = document.createElement('td');
        td.textContent = String(cell);
        tr.append(td);
      }
      return tr;
    }),
  );
}
