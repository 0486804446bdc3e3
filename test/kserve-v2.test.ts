import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/cli/serve.js';
import { exportModel } from '../src/exporter/index.js';
import { createOnnxBuilder, type ElemType } from '../src/exporter/onnx/builder.js';
import { loadImage } from '../src/media/image.js';
import { startTestServer } from './helpers/server.js';

// Requests below are written from the Open Inference Protocol (KServe v2) REST document:
// $request = {"id", "parameters", "inputs": [{"name","shape","datatype","parameters","data"}], "outputs"}
// binary extension: Inference-Header-Content-Length + "binary_data_size" / "binary_data".

const TYPES: Array<[string, ElemType]> = [['FP32', 'float32'], ['FP16', 'float16'], ['INT64', 'int64'], ['INT32', 'int32'], ['UINT8', 'uint8'], ['BOOL', 'bool']];
let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'framewatch-v2-'));
  // A model echoing one input of each datatype: in_FP32 -> out_FP32, ...
  const b = createOnnxBuilder('dtype-echo');
  for (const [v2, t] of TYPES) {
    b.input(`in_${v2}`, t, ['batch', 2]);
    b.node('Identity', [`in_${v2}`], [`out_${v2}`]);
    b.output(`out_${v2}`, t, ['batch', 2]);
  }
  await writeFile(join(dir, 'echo.onnx'), b.encode({ opset: 13, producer: 'framewatch-test' }));
  const models = join(dir, 'models');
  await exportModel({
    modelsDir: models, sourcePath: join(dir, 'echo.onnx'), name: 'dtype-echo', task: 'raw-tensor', project: 'tests',
    preprocessing: { resize: { mode: 'stretch', width: 1, height: 1 } }, labels: ['none'], golden: [],
    decode: (bytes, spec) => loadImage(bytes, spec, { maxPixels: 1e6 }),
  });
  await cp('models/text-detector', join(models, 'text-detector'), { recursive: true });
  server = await startTestServer({ modelsDir: models });
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const infer = async (path: string, body: unknown) => {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};

describe('KServe v2: server and model metadata', () => {
  it('GET /v2, health and ready', async () => {
    const meta = (await (await fetch(`${server.url}/v2`)).json()) as any;
    expect(meta).toMatchObject({ name: 'framewatch', version: expect.stringMatching(/^\d+\.\d+\.\d+/), extensions: expect.arrayContaining(['binary_tensor_data']) });
    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    const ready = await fetch(`${server.url}/v2/models/text-detector/versions/2/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as any).ready).toBe(true);
  });

  it('GET /v2/models/{name} describes inputs and outputs with -1 for dynamic dimensions', async () => {
    const meta = (await (await fetch(`${server.url}/v2/models/text-detector`)).json()) as any;
    expect(meta).toEqual({
      name: 'text-detector', versions: ['2'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'image', datatype: 'UINT8', shape: [-1, -1, -1, 3] }],
      outputs: [{ name: 'sigmoid_0.tmp_0', datatype: 'FP32', shape: [-1, 1, -1, -1] }],
    });
  });
});

describe('KServe v2: infer', () => {
  it('runs a real model on a JSON tensor', async () => {
    const { status, body } = await infer('/v2/models/text-detector/infer', {
      id: 'req-1',
      inputs: [{ name: 'image', shape: [1, 32, 32, 3], datatype: 'UINT8', data: new Array(3 * 32 * 32).fill(128) }],
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ model_name: 'text-detector', model_version: '2', id: 'req-1' });
    expect(body.outputs[0]).toMatchObject({ name: 'sigmoid_0.tmp_0', datatype: 'FP32', shape: [1, 1, 32, 32] });
    expect(body.outputs[0].data).toHaveLength(1024);
    expect(body.outputs[0].data.every((v: number) => v >= 0 && v <= 1)).toBe(true);
  });

  it('round-trips FP32, FP16, INT64, INT32, UINT8 and BOOL as JSON (nested data accepted)', async () => {
    const values: Record<string, unknown[]> = {
      FP32: [[1.5, -2.25]], FP16: [[0.5, -3]], INT64: [[9007199254740991, -7]], INT32: [[2147483647, -2147483648]], UINT8: [[0, 255]], BOOL: [[true, false]],
    };
    const { status, body } = await infer('/v2/models/dtype-echo/infer', {
      inputs: TYPES.map(([t]) => ({ name: `in_${t}`, shape: [1, 2], datatype: t, data: values[t] })),
    });
    expect(status).toBe(200);
    for (const [t] of TYPES) {
      const out = body.outputs.find((o: any) => o.name === `out_${t}`);
      expect(out).toMatchObject({ datatype: t, shape: [1, 2] });
      expect(out.data).toEqual((values[t] as unknown[][])[0]);
    }
  });

  it('supports the binary tensor extension in and out', async () => {
    const x = new Uint8Array(3 * 32 * 32).map((_, i) => (i * 7) % 256);
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'image', shape: [1, 32, 32, 3], datatype: 'UINT8', parameters: { binary_data_size: x.byteLength } }],
      outputs: [{ name: 'sigmoid_0.tmp_0', parameters: { binary_data: true } }],
    }));
    const res = await fetch(`${server.url}/v2/models/text-detector/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
      body: Buffer.concat([header, Buffer.from(x.buffer)]),
    });
    expect(res.status).toBe(200);
    const length = Number(res.headers.get('inference-header-content-length'));
    const raw = Buffer.from(await res.arrayBuffer());
    const json = JSON.parse(raw.subarray(0, length).toString());
    expect(json.outputs[0]).toMatchObject({ name: 'sigmoid_0.tmp_0', datatype: 'FP32', shape: [1, 1, 32, 32], parameters: { binary_data_size: 4096 } });
    const values = new Float32Array(raw.subarray(length).buffer.slice(raw.byteOffset + length, raw.byteOffset + raw.length));
    expect(values).toHaveLength(1024);
    // The same tensor as JSON gives the same numbers.
    const asJson = await infer('/v2/models/text-detector/infer', { inputs: [{ name: 'image', shape: [1, 32, 32, 3], datatype: 'UINT8', data: Array.from(x) }] });
    expect(Array.from(values)).toEqual(asJson.body.outputs[0].data.map((v: number) => Math.fround(v)));
  });

  it('binary INT64 input with binary_data_output for the whole response', async () => {
    const ints = new BigInt64Array([5n, -6n]);
    const rest = TYPES.filter(([t]) => t !== 'INT64').map(([t]) => ({ name: `in_${t}`, shape: [1, 2], datatype: t, data: [0, 1] }));
    const header = Buffer.from(JSON.stringify({ parameters: { binary_data_output: true }, inputs: [{ name: 'in_INT64', shape: [1, 2], datatype: 'INT64', parameters: { binary_data_size: 16 } }, ...rest], outputs: [{ name: 'out_INT64' }] }));
    const res = await fetch(`${server.url}/v2/models/dtype-echo/infer`, {
      method: 'POST', headers: { 'inference-header-content-length': String(header.length) }, body: Buffer.concat([header, Buffer.from(ints.buffer)]),
    });
    expect(res.status).toBe(200);
    const raw = Buffer.from(await res.arrayBuffer());
    const length = Number(res.headers.get('inference-header-content-length'));
    expect(raw.readBigInt64LE(length)).toBe(5n);
    expect(raw.readBigInt64LE(length + 8)).toBe(-6n);
  });

  it.each([
    ['an unknown input name', { inputs: [{ name: 'nope', shape: [1, 32, 32, 3], datatype: 'UINT8', data: [] }] }, 400, /unexpected input 'nope'/],
    ['shape x datatype not matching the data', { inputs: [{ name: 'image', shape: [1, 32, 32, 3], datatype: 'UINT8', data: [1, 2, 3] }] }, 400, /needs 3072 values, got 3/],
    ['a datatype the model does not take', { inputs: [{ name: 'image', shape: [1, 32, 32, 3], datatype: 'FP32', data: new Array(3072).fill(0) }] }, 400, /does not match the model's UINT8/],
    ['an unsupported datatype', { inputs: [{ name: 'image', shape: [1, 2, 2, 3], datatype: 'BYTES', data: [] }] }, 400, /not one of/],
    ['a shape of the wrong rank', { inputs: [{ name: 'image', shape: [32, 32, 3], datatype: 'UINT8', data: new Array(3072).fill(0) }] }, 400, /does not fit/],
    ['no inputs', { inputs: [] }, 400, /non-empty/],
  ])('answers 400 {"error"} for %s', async (_what, body, status, message) => {
    const res = await infer('/v2/models/text-detector/infer', body);
    expect(res.status).toBe(status);
    expect(Object.keys(res.body)).toEqual(['error']);
    expect(res.body.error).toMatch(message);
  });

  it('answers 400 for binary sizes that do not add up, 404 for an unknown model, 400 for malformed JSON', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', shape: [1, 4, 4, 3], datatype: 'UINT8', parameters: { binary_data_size: 10 } }] }));
    const bad = await fetch(`${server.url}/v2/models/text-detector/infer`, { method: 'POST', headers: { 'inference-header-content-length': String(header.length) }, body: Buffer.concat([header, Buffer.alloc(10)]) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatch(/binary_data_size 10 != shape x datatype size 48/);
    const missing = await infer('/v2/models/nope/infer', { inputs: [] });
    expect(missing.status).toBe(404);
    expect(typeof missing.body.error).toBe('string');
    const res = await fetch(`${server.url}/v2/models/text-detector/infer`, { method: 'POST', body: '{"inputs": [' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatch(/malformed/);
  });
});
