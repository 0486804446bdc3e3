import { writeFile } from 'node:fs/promises';
import { createOnnxBuilder, int, ints } from '../../src/exporter/onnx/builder.js';

/**
 * A tiny ONNX model in Ultralytics' layout, built with the project's own graph builder:
 * input `images` [1, 3, 640, 640]; output `output0` = a known tensor (plus 0 * mean(images),
 * so the output really depends on running the graph). `names` goes into metadata_props.
 */
export async function writeYoloFixture(path: string, output: Float32Array, dims: number[], names?: string): Promise<void> {
  const b = createOnnxBuilder('yolo-fixture');
  b.input('images', 'float32', [1, 3, 640, 640]);
  b.initializer('known', output, dims);
  b.initializer('zero', new Float32Array([0]), []);
  b.node('ReduceMean', ['images'], ['mean'], { axes: ints([0, 1, 2, 3]), keepdims: int(0) });
  b.node('Mul', ['mean', 'zero'], ['nothing']);
  b.node('Add', ['known', 'nothing'], ['output0']);
  b.output('output0', 'float32', dims);
  await writeFile(path, b.encode({ opset: 13, producer: 'framewatch-test', metadata: names ? { names } : {} }));
}

/** Raw layout [1, 4 + nc, N]: column n holds cx, cy, w, h, then nc class scores. */
export function rawYoloOutput(nc: number, anchors: Array<{ cx: number; cy: number; w: number; h: number; cls: number; score: number }>): Float32Array {
  const n = anchors.length;
  const out = new Float32Array((4 + nc) * n);
  anchors.forEach((a, i) => {
    out[i] = a.cx;
    out[n + i] = a.cy;
    out[2 * n + i] = a.w;
    out[3 * n + i] = a.h;
    out[(4 + a.cls) * n + i] = a.score;
  });
  return out;
}
