import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { FramewatchError, isFramewatchError } from '../errors/index.js';
import { logRequestError, statusFor, toFramewatchError } from './error-handler.js';
import type { Logger } from '../logging/logger.js';
import type { ModelRepository, ReadyModel, VersionEntry } from '../registry/index.js';
import { decodeV2Inputs, encodeV2Outputs, v2TypeOf, type V2Request } from './v2-codec.js';
import { validateModelName, versionParamSchema } from './params.js';
import { requireToken } from './security.js';

const HEADER_LENGTH = 'inference-header-content-length';
export const V2_BODY_LIMIT = 64 * 1024 * 1024;

const metadataOf = (m: ReadyModel) => ({
  name: m.name,
  versions: [String(m.version)],
  platform: 'onnxruntime_onnx',
  inputs: m.session.inputs.map((t) => ({ name: t.name, datatype: v2TypeOf(t.dtype) ?? t.dtype, shape: t.shape })),
  outputs: m.session.outputs.map((t) => ({ name: t.name, datatype: v2TypeOf(t.dtype) ?? t.dtype, shape: t.shape })),
});

/** Splits a binary-extension body into its JSON header and the tensor bytes after it. */
function splitBody(req: Request): { request: V2Request; binary: Uint8Array } {
  const body = req.body as Buffer | undefined;
  if (!Buffer.isBuffer(body) || body.length === 0) throw new FramewatchError('INVALID_INPUT', 'the request body is empty');
  const headerLength = req.headers[HEADER_LENGTH];
  const jsonLength = headerLength === undefined ? body.length : Number(headerLength);
  if (!Number.isInteger(jsonLength) || jsonLength < 0 || jsonLength > body.length) {
    throw new FramewatchError('INVALID_INPUT', `'Inference-Header-Content-Length' must be an integer in [0, ${body.length}]`);
  }
  let request: V2Request;
  try {
    request = JSON.parse(body.subarray(0, jsonLength).toString('utf8'));
  } catch {
    throw new FramewatchError('INVALID_INPUT', 'the inference request JSON is malformed');
  }
  if (typeof request !== 'object' || request === null) throw new FramewatchError('INVALID_INPUT', 'the inference request must be a JSON object');
  return { request, binary: body.subarray(jsonLength) };
}

/**
 * The Open Inference Protocol (KServe v2) over REST: health, server and model metadata, and
 * raw-tensor inference (JSON and the binary tensor extension) through the same batcher.
 * Errors use the protocol's shape: {"error": "..."}.
 */
export function createV2Routes(repository: ModelRepository, logger: Logger, version: string, opts: { apiToken?: string; draining: () => boolean }): Router {
  const router = Router();
  router.param('name', validateModelName);
  const auth = requireToken(opts.apiToken, 'infer');
  const resolve = (req: Request) =>
    repository.resolve(String(req.params.name), req.params.version === undefined ? undefined : versionParamSchema.parse(req.params.version));

  router.get('/v2', (_req, res) => void res.json({ name: 'framewatch', version, extensions: ['binary_tensor_data'] }));
  router.get('/v2/health/live', (_req, res) => void res.json({ live: true }));
  router.get('/v2/health/ready', (_req, res) => {
    const names = new Set(repository.list().map((e: VersionEntry) => e.name));
    const ready = !opts.draining() && names.size > 0 && [...names].every((n) => repository.list().some((e) => e.name === n && e.state === 'READY'));
    res.status(ready ? 200 : 503).json({ ready });
  });

  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    router.get(base, (req, res) => void res.json(metadataOf(resolve(req))));
    router.get(`${base}/ready`, (req, res) => {
      try {
        const m = resolve(req);
        res.json({ name: m.name, version: String(m.version), ready: true });
      } catch (err) {
        if (isFramewatchError(err) && err.code === 'MODEL_NOT_READY') return void res.status(503).json({ name: String((req.params as Record<string, string>).name), ready: false });
        throw err;
      }
    });
    router.post(`${base}/infer`, auth, express.raw({ type: () => true, limit: V2_BODY_LIMIT }), async (req: Request, res: Response) => {
      const model = resolve(req);
      const { request, binary } = splitBody(req);
      const feeds = decodeV2Inputs(request, binary, model.session.inputs);
      const outputs = await model.batcher.runFeeds(feeds, 'interactive');
      const { tensors, chunks } = encodeV2Outputs(outputs, request);
      const json = { model_name: model.name, model_version: String(model.version), ...(request.id !== undefined ? { id: request.id } : {}), outputs: tensors };
      if (chunks.length === 0) return void res.json(json);
      const header = Buffer.from(JSON.stringify(json));
      res.setHeader('Inference-Header-Content-Length', String(header.length));
      res.type('application/octet-stream').send(Buffer.concat([header, ...chunks]));
    });
  }

  // The shared mapping and logging; only the body differs: the protocol's {"error": "..."}.
  const errors: ErrorRequestHandler = (err, _req, res, _next) => {
    const known = (err as { name?: string })?.name === 'ZodError' ? new FramewatchError('INVALID_INPUT', 'the version must be a positive integer') : toFramewatchError(err);
    logRequestError(logger, known, err);
    res.status(statusFor(known)).json({ error: known.message });
  };
  router.use('/v2', errors);
  return router;
}
