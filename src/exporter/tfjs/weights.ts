import { halfToFloat } from '../../runtime/half.js';

export { halfToFloat };
/** One entry of a TF.js weights manifest. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool' | string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number; original_dtype?: string };
}

export interface WeightGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface DecodedWeight {
  dtype: 'float32' | 'int32' | 'bool';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

/**
 * Decodes the concatenated shard bytes of one weight group, dequantizing float16 and
 * affine uint8/uint16 weights (value = q * scale + min) to float32.
 */
export function decodeWeights(weights: readonly WeightSpec[], bytes: Uint8Array): Map<string, DecodedWeight> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, DecodedWeight>();
  let offset = 0;
  for (const w of weights) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const stored = w.quantization?.dtype ?? w.dtype;
    const bpe = BYTES[stored];
    if (!bpe) throw new Error(`weight '${w.name}': unsupported dtype '${stored}'`);
    if (offset + size * bpe > bytes.byteLength) {
      throw new Error(`weight '${w.name}' needs bytes [${offset}, ${offset + size * bpe}) but the shards hold ${bytes.byteLength}`);
    }
    let data: Float32Array | Int32Array | Uint8Array;
    const q = w.quantization;
    if (q && w.dtype === 'float32') {
      data = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const at = offset + i * bpe;
        if (q.dtype === 'float16') data[i] = halfToFloat(view.getUint16(at, true));
        else data[i] = (q.dtype === 'uint8' ? view.getUint8(at) : view.getUint16(at, true)) * (q.scale ?? 1) + (q.min ?? 0);
      }
    } else if (q && w.dtype === 'int32') {
      data = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const at = offset + i * bpe;
        const v = q.dtype === 'uint8' ? view.getUint8(at) : view.getUint16(at, true);
        data[i] = Math.round(v * (q.scale ?? 1) + (q.min ?? 0));
      }
    } else if (w.dtype === 'float32') {
      data = new Float32Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getFloat32(offset + 4 * i, true);
    } else if (w.dtype === 'int32') {
      data = new Int32Array(size);
      for (let i = 0; i < size; i++) data[i] = view.getInt32(offset + 4 * i, true);
    } else if (w.dtype === 'bool') {
      data = bytes.slice(offset, offset + size);
    } else {
      throw new Error(`weight '${w.name}': unsupported dtype '${w.dtype}'`);
    }
    out.set(w.name, { dtype: w.dtype as DecodedWeight['dtype'], shape: [...w.shape], data });
    offset += size * bpe;
  }
  return out;
}
