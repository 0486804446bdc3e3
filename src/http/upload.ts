import busboy from 'busboy';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FramewatchError, isFramewatchError } from '../errors/index.js';
import { SNIFF_BYTES, sniffMedia, type SniffResult } from '../media/sniff.js';

export interface UploadLimits {
  maxImageBytes: number;
  maxVideoBytes: number;
  /** Where video uploads are streamed to. */
  tmpDir: string;
  /** Called once the first bytes say video; throwing refuses the upload before it is stored. */
  checkVideoBacklog?: () => void;
}

/** An image stays in memory; a video (or audio) streams to a temp file that the caller must remove. */
export type ReceivedMedia =
  | { kind: 'image'; bytes: Uint8Array; media: SniffResult }
  | { kind: 'video'; path: string; size: number; media: SniffResult; cleanup: () => Promise<void> };

export type ReceivedUpload = ReceivedMedia & {
  /** Declared type (header or multipart part); informative only, content decides. */
  declaredType: string;
  /** Multipart text fields, for options such as threshold. */
  fields: Record<string, string>;
};

/** A text field's bytes: room for a review profile (`rules`); a longer one is cut and then fails to parse. */
const MAX_FIELD_BYTES = 64 * 1024;

/** Room for multipart boundaries, part headers and small fields around the file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

const RAW_TYPE = /^(image\/(jpeg|png|webp|gif|tiff|avif)|video\/[\w.+-]+|application\/octet-stream)$/;

const unsupported = (declared: string) =>
  new FramewatchError('UNSUPPORTED_MEDIA_TYPE', 'the content is not a supported image (jpeg, png, webp, gif, tiff, avif) or video (mp4, mov, mkv, webm, avi)', {
    declared: declared || undefined,
  });

/**
 * Reads one uploaded file. Its first bytes decide what it is and which byte limit applies;
 * images are collected in memory, videos stream to a temp file (never whole in memory).
 * On any failure, including a client abort, the temp file is removed before rejecting.
 */
function collectFile(stream: Readable, declaredType: string, limits: UploadLimits): Promise<ReceivedMedia> {
  return new Promise((resolve, reject) => {
    const head: Buffer[] = [];
    let size = 0;
    let media: SniffResult | undefined;
    let file: { path: string; out: WriteStream } | undefined;
    let done = false;
    const fail = (err: FramewatchError) => {
      if (done) return;
      done = true;
      stream.resume(); // drain so the client can read our answer
      const removal = file ? new Promise<void>((r) => file!.out.destroy() && file!.out.once('close', () => r())).then(() => rm(file!.path, { force: true })) : Promise.resolve();
      removal.then(() => reject(err), () => reject(err));
    };
    const decide = (bytes: Buffer): boolean => {
      media = sniffMedia(bytes);
      if (!media) {
        fail(unsupported(declaredType));
        return false;
      }
      if (media.kind !== 'image') {
        try {
          limits.checkVideoBacklog?.();
        } catch (err) {
          fail(err as FramewatchError);
          return false;
        }
        const path = join(limits.tmpDir, `${randomUUID()}.upload`);
        file = { path, out: createWriteStream(path, { flags: 'wx' }) };
        file.out.on('error', (err) => fail(new FramewatchError('INTERNAL', `cannot write the upload: ${err.message}`)));
        file.out.write(bytes);
        head.length = 0;
      }
      return true;
    };
    stream.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      const limit = media && media.kind !== 'image' ? limits.maxVideoBytes : media ? limits.maxImageBytes : Math.max(limits.maxImageBytes, limits.maxVideoBytes);
      if (size > limit) {
        return fail(new FramewatchError('PAYLOAD_TOO_LARGE', `the upload exceeds ${limit} bytes`, { maxBytes: limit, kind: media?.kind }));
      }
      if (file) {
        // Backpressure: stop reading the socket while the disk catches up.
        if (!file.out.write(chunk)) {
          stream.pause();
          file.out.once('drain', () => stream.resume());
        }
        return;
      }
      head.push(chunk);
      if (!media && size >= SNIFF_BYTES && !decide(Buffer.concat(head))) return;
      if (media?.kind === 'image' && size > limits.maxImageBytes) {
        fail(new FramewatchError('PAYLOAD_TOO_LARGE', `the upload exceeds ${limits.maxImageBytes} bytes`, { maxBytes: limits.maxImageBytes, kind: 'image' }));
      }
    });
    stream.on('error', (err) => fail(isFramewatchError(err) ? err : new FramewatchError('INVALID_INPUT', `upload failed: ${err.message}`)));
    stream.on('close', () => {
      if (!stream.readableEnded) fail(new FramewatchError('INVALID_INPUT', 'the upload was interrupted'));
    });
    stream.on('end', () => {
      if (done) return;
      if (size === 0) return fail(new FramewatchError('INVALID_INPUT', 'the uploaded file is empty'));
      if (!media && !decide(Buffer.concat(head))) return;
      if (media!.kind === 'image') {
        done = true;
        return resolve({ kind: 'image', bytes: Buffer.concat(head), media: media! });
      }
      const { path, out } = file!;
      out.end(() => {
        if (done) return;
        done = true;
        resolve({ kind: 'video', path, size, media: media!, cleanup: () => rm(path, { force: true }) });
      });
    });
  });
}

/** Accepts a multipart body (field `file`) or a raw image/video body. */
export async function receiveUpload(req: Request, limits: UploadLimits): Promise<ReceivedUpload> {
  // A declared length no file could fit is refused before a byte is read (multipart headers get some room).
  const largest = Math.max(limits.maxImageBytes, limits.maxVideoBytes);
  if (Number(req.headers['content-length'] ?? 0) > largest + MULTIPART_OVERHEAD_BYTES) {
    throw new FramewatchError('PAYLOAD_TOO_LARGE', `the upload exceeds ${largest} bytes`, { maxBytes: largest });
  }
  await mkdir(limits.tmpDir, { recursive: true });
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  if (contentType.startsWith('multipart/form-data')) return receiveMultipart(req, limits);
  const mime = contentType.split(';')[0].trim();
  if (!RAW_TYPE.test(mime)) {
    req.resume();
    throw new FramewatchError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type '${mime || '(none)'}' is not accepted; send multipart/form-data with a 'file' field, image/*, or video/*`,
    );
  }
  if (Number(req.headers['content-length']) === 0) throw new FramewatchError('INVALID_INPUT', 'the request body is empty');
  const received = await collectFile(req, mime, limits);
  return { ...received, declaredType: mime, fields: {} };
}

function receiveMultipart(req: Request, limits: UploadLimits): Promise<ReceivedUpload> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fields: 20, fieldSize: MAX_FIELD_BYTES } });
    } catch (err) {
      req.resume();
      return reject(new FramewatchError('INVALID_INPUT', `malformed multipart request: ${(err as Error).message}`));
    }
    const fields: Record<string, string> = {};
    let file: Promise<ReceivedMedia & { declaredType: string }> | undefined;
    let settled = false;
    const finish = (err: unknown, value?: ReceivedUpload) => {
      if (settled) {
        if (value?.kind === 'video') void value.cleanup();
        return;
      }
      settled = true;
      if (err) {
        req.unpipe(parser);
        req.resume();
        // A file already on disk must not outlive a failed request.
        file?.then((f) => void (f.kind === 'video' && f.cleanup()), () => undefined);
        reject(err);
      } else resolve(value!);
    };
    // A blank field is one the form left empty: not given (z.coerce would read '' as 0).
    parser.on('field', (name, value) => {
      if (value.trim() !== '') fields[name] = value;
    });
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
    // The body idle timer errors the request itself, which piping does not forward.
    req.on('error', (err) => {
      parser.destroy(err);
      finish(isFramewatchError(err) ? err : new FramewatchError('INVALID_INPUT', `upload failed: ${err.message}`));
    });
    req.on('close', () => {
      if (!req.complete) {
        parser.destroy(new Error('the client aborted the upload'));
        finish(new FramewatchError('INVALID_INPUT', 'the client aborted the upload'));
      }
    });
    req.pipe(parser);
  });
}
