import express, { Router, type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { FramewatchError, isFramewatchError } from '../errors/index.js';
import { logRequestError, setErrorHeaders, statusFor, toFramewatchError } from './error-handler.js';
import type { Logger } from '../logging/logger.js';
import type { ModelRepository, ReadyModel, VersionEntry } from '../registry/index.js';
import type { PlainTensor } from '../runtime/index.js';
import { encodeV2Outputs, v2TypeOf, type V2RequestOptions } from './v2-codec.js';
import { decodeV2Body } from './v2-decoder.js';
import { validateModelName, versionParamSchema } from './params.js';
import { requireToken } from './security.js';

const HEADER_LENGTH = 'inference-header-content-length';

export interface V2Limits {
  /** A request that is JSON only, and the JSON header of a binary one. */
  maxJsonBytes: number;
  /** A request with binary tensor data. */
  maxBinaryBytes: number;
}

/**
 * Reads the body under the limit for its kind: a JSON-only request gets the small JSON limit,
 * one with binary tensor data the larger one. A declared Content-Length over the limit is
 * refused before a byte is read; a chunked body is cut once it passes the limit.
 */
function v2Body(limits: V2Limits): RequestHandler {
  const json = express.raw({ type: () => true, limit: limits.maxJsonBytes });
  const binary = express.raw({ type: () => true, limit: limits.maxBinaryBytes });
  return (req, res, next) => {
    const headerLength = req.headers[HEADER_LENGTH];
    // Refused here, not by the parser: it would first wait for the whole body to drain.
    const limit = headerLength === undefined ? limits.maxJsonBytes : limits.maxBinaryBytes;
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      return next(new FramewatchError('PAYLOAD_TOO_LARGE', `the request body exceeds ${limit} bytes`, { maxBytes: limit }));
    }
    if (headerLength === undefined) return json(req, res, next);
    if (Number(headerLength) > limits.maxJsonBytes) {
      return next(new FramewatchError('PAYLOAD_TOO_LARGE', `the JSON header exceeds ${limits.maxJsonBytes} bytes`, { maxBytes: limits.maxJsonBytes }));
    }
    binary(req, res, next);
  };
}

const metadataOf = (m: ReadyModel) => ({
  name: m.name,
  versions: [String(m.version)],
  platform: 'onnxruntime_onnx',
  inputs: m.session.inputs.map((t) => ({ name: t.name, datatype: v2TypeOf(t.dtype) ?? t.dtype, shape: t.shape })),
  outputs: m.session.outputs.map((t) => ({ name: t.name, datatype: v2TypeOf(t.dtype) ?? t.dtype, shape: t.shape })),
});

/**
 * The Open Inference Protocol (KServe v2) over REST: health, server and model metadata, and
 * raw-tensor inference (JSON and the binary tensor extension) through the same batcher.
 * Errors use the protocol's shape: {"error": "..."}.
 */
export function createV2Routes(
  repository: ModelRepository,
  logger: Logger,
  version: string,
  opts: { apiToken?: string; draining: () => boolean; limits: V2Limits },
): Router {
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
    // The model and its queue are checked before the body is read: a refusal costs nothing.
    const admissible: RequestHandler = (req, _res, next) => {
      resolve(req).batcher.assertRoom();
      next();
    };
    router.post(`${base}/infer`, auth, admissible, v2Body(opts.limits), async (req: Request, res: Response) => {
      const model = resolve(req);
      const release = model.batcher.admit();
      let outputs: Record<string, PlainTensor>, request: V2RequestOptions;
      try {
        const decoded = await decodeV2Body(req.body as Buffer | undefined, req.headers[HEADER_LENGTH], model.session.inputs);
        request = decoded.request;
        outputs = await model.batcher.runFeeds(decoded.feeds, 'interactive');
      } finally {
        release();
      }
      const { tensors, chunks } = encodeV2Outputs(outputs, request);
      const json = { model_name: model.name, model_version: String(model.version), ...(request.id !== undefined ? { id: request.id } : {}), outputs: tensors };
      if (chunks.length === 0) return void res.json(json);
      const header = Buffer.from(JSON.stringify(json));
      res.setHeader('Inference-Header-Content-Length', String(header.length));
      res.type('application/octet-stream').send(Buffer.concat([header, ...chunks]));
    });
  }

  // The shared mapping and logging; only the body differs: the protocol's {"error": "..."}.
  const errors: ErrorRequestHandler = (err, req, res, _next) => {
    const known = (err as { name?: string })?.name === 'ZodError' ? new FramewatchError('INVALID_INPUT', 'the version must be a positive integer') : toFramewatchError(err);
    logRequestError(logger, known, err);
    setErrorHeaders(known, req, res);
    res.status(statusFor(known)).json({ error: known.message });
  };
  router.use('/v2', errors);
  return router;
}
