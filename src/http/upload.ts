import type { Request } from 'express';
import busboy from 'busboy';
import type { Readable } from 'node:stream';
import { FramewatchError } from '../errors/index.js';
import { SNIFF_BYTES, sniffMedia, type SniffResult } from '../media/sniff.js';

export interface UploadLimits {
  maxImageBytes: number;
}

export interface ReceivedUpload {
  bytes: Uint8Array;
  media: SniffResult;
  /** Declared type (header or multipart part); informative only, content decides. */
  declaredType: string;
  /** Other multipart text fields, for options such as threshold. */
  fields: Record<string, string>;
}

const RAW_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/tiff', 'image/avif']);

/**
 * Reads the file part of a request into memory, sniffing its first bytes to decide what
 * it is and which byte limit applies. Rejects early on unknown content or size.
 */
function collectFile(stream: Readable, declaredType: string, limits: UploadLimits): Promise<{ bytes: Uint8Array; media: SniffResult }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let media: SniffResult | undefined;
    let failed = false;
    const fail = (err: FramewatchError) => {
      if (failed) return;
      failed = true;
      stream.resume(); // drain the rest so the client can read our answer
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      if (failed) return;
      chunks.push(chunk);
      size += chunk.length;
      if (!media && size >= SNIFF_BYTES) {
        media = sniffMedia(Buffer.concat(chunks));
        if (!media) return fail(unsupported(declaredType));
        if (media.kind === 'video') {
          return fail(new FramewatchError('UNSUPPORTED_MEDIA_TYPE', `${media.format} video is not accepted on this route yet`, { detected: media.format }));
        }
      }
      if (size > limits.maxImageBytes) {
        fail(new FramewatchError('PAYLOAD_TOO_LARGE', `the upload exceeds ${limits.maxImageBytes} bytes`, { maxBytes: limits.maxImageBytes }));
      }
    });
    stream.on('error', (err) => fail(new FramewatchError('INVALID_INPUT', `upload failed: ${err.message}`)));
    stream.on('end', () => {
      if (failed) return;
      const bytes = Buffer.concat(chunks);
      if (bytes.length === 0) return fail(new FramewatchError('INVALID_INPUT', 'the uploaded file is empty'));
      media ??= sniffMedia(bytes);
      if (!media) return fail(unsupported(declaredType));
      resolve({ bytes, media });
    });
  });
}

const unsupported = (declared: string) =>
  new FramewatchError('UNSUPPORTED_MEDIA_TYPE', 'the content is not a supported image format (jpeg, png, webp, gif, tiff, avif)', {
    declared: declared || undefined,
  });

/** Accepts a multipart body (field `file`) or a raw image body. */
export async function receiveUpload(req: Request, limits: UploadLimits): Promise<ReceivedUpload> {
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  const declaredLength = Number(req.headers['content-length'] ?? NaN);
  if (contentType.startsWith('multipart/form-data')) return receiveMultipart(req, limits);
  const mime = contentType.split(';')[0].trim();
  if (!RAW_TYPES.has(mime)) {
    req.resume();
    throw new FramewatchError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type '${mime || '(none)'}' is not accepted; send multipart/form-data with a 'file' field or one of ${[...RAW_TYPES].join(', ')}`,
    );
  }
  if (declaredLength === 0) throw new FramewatchError('INVALID_INPUT', 'the request body is empty');
  const { bytes, media } = await collectFile(req, mime, limits);
  return { bytes, media, declaredType: mime, fields: {} };
}

function receiveMultipart(req: Request, limits: UploadLimits): Promise<ReceivedUpload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fields: 20, fieldSize: 4096 } });
    } catch (err) {
      req.resume();
      return reject(new FramewatchError('INVALID_INPUT', `malformed multipart request: ${(err as Error).message}`));
    }
    const fields: Record<string, string> = {};
    let file: Promise<{ bytes: Uint8Array; media: SniffResult; declaredType: string }> | undefined;
    let settled = false;
    const finish = (err: unknown, value?: ReceivedUpload) => {
      if (settled) return;
      settled = true;
      if (err) {
        req.unpipe(parser);
        req.resume();
        reject(err);
      } else resolve(value!);
    };
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (name, stream, info) => {
      if (name !== 'file' || file) {
        stream.resume();
        return;
      }
      file = collectFile(stream, info.mimeType, limits).then((f) => ({ ...f, declaredType: info.mimeType }));
      file.catch((err) => finish(err));
    });
    parser.on('error', (err: Error) => finish(new FramewatchError('INVALID_INPUT', `malformed multipart request: ${err.message}`)));
    parser.on('close', () => {
      if (!file) return finish(new FramewatchError('INVALID_INPUT', "multipart body has no 'file' field"));
      file.then((f) => finish(undefined, { ...f, fields }), finish);
    });
    req.on('aborted', () => finish(new FramewatchError('INVALID_INPUT', 'the client aborted the upload')));
    req.pipe(parser);
  });
}
