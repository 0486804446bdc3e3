import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ffmpegPath } from '../../src/media/ffmpeg.js';

const run = promisify(execFile);
const ffmpeg = (args: string[]) => run(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
const fit = (w: number, h: number) => `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=10`;
const FIT = fit(640, 480);

/**
 * 12 s, 640x480 (or `size`): fruits.jpg 0-4 s, messi5.jpg 4-8 s (the only person), home.jpg
 * 8-12 s. `keyframeEvery` frames (at 10 fps) sets a fixed keyframe interval; by default x264
 * puts keyframes only at the scene cuts (0, 4 and 8 s).
 */
export async function knownTruthVideo(out: string, keyframeEvery?: number, size = { width: 640, height: 480 }): Promise<void> {
  const inputs = ['fruits.jpg', 'messi5.jpg', 'home.jpg'].flatMap((f) => ['-loop', '1', '-t', '4', '-i', `test/fixtures/${f}`]);
  const gop = keyframeEvery ? ['-g', String(keyframeEvery), '-keyint_min', String(keyframeEvery), '-sc_threshold', '0'] : [];
  const fitted = fit(size.width, size.height);
  await ffmpeg([...inputs, '-filter_complex', `[0]${fitted}[a];[1]${fitted}[b];[2]${fitted}[c];[a][b][c]concat=n=3:v=1:a=0`, '-c:v', 'libx264', ...gop, '-pix_fmt', 'yuv420p', out]);
}

/** White 640x360 video of `seconds`, with black text drawn (ffmpeg drawtext) only from `from` to `to`. */
export async function textVideo(out: string, seconds: number, from: number, to: number): Promise<void> {
  const text = `drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:text='REVIEW THIS PART':fontsize=48:fontcolor=black:x=60:y=150:enable='between(t,${from},${to})'`;
  await ffmpeg(['-f', 'lavfi', '-i', `color=c=white:s=640x360:r=10:d=${seconds}`, '-vf', text, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', out]);
}

/** A synthetic test pattern of `seconds` at 320x240 (long inputs for async jobs). */
export async function patternVideo(out: string, seconds: number): Promise<void> {
  await ffmpeg(['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=10:duration=${seconds}`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', out]);
}

/** An hour of black 64x64 at 25 fps: 90,000 packets, so reading its index takes far longer than probing it. */
export async function longTinyVideo(out: string): Promise<void> {
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=black:s=64x64:r=25:d=3600', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', out]);
}

/** Two seconds of a sine tone in an MP4 (m4a) container: audio only. */
export async function audioOnly(out: string): Promise<void> {
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', out]);
}

/** The same video in another container (mkv, webm, mov, avi), re-encoded when the container needs it. */
export async function remux(input: string, out: string): Promise<void> {
  const codec = out.endsWith('.webm') ? ['-c:v', 'libvpx', '-b:v', '500k', '-deadline', 'realtime', '-cpu-used', '8'] : out.endsWith('.avi') ? ['-c:v', 'mpeg4', '-q:v', '4'] : ['-c:v', 'copy'];
  await ffmpeg(['-i', input, ...codec, out]);
}

/**
 * 150 s, 640x480 at 10 fps: fruits.jpg with messi5.jpg (people) from 25-40 s, 55-65 s and
 * 115-125 s, so each person event straddles a 30 s chunk boundary (30, 60, 120).
 */
export async function longEventsVideo(out: string): Promise<void> {
  const plan: Array<[string, number]> = [['fruits.jpg', 25], ['messi5.jpg', 15], ['fruits.jpg', 15], ['messi5.jpg', 10], ['fruits.jpg', 50], ['messi5.jpg', 10], ['fruits.jpg', 25]];
  const inputs = plan.flatMap(([f, s]) => ['-loop', '1', '-t', String(s), '-i', `test/fixtures/${f}`]);
  const scaled = plan.map((_, i) => `[${i}]${FIT}[v${i}]`).join(';');
  const joined = `${plan.map((_, i) => `[v${i}]`).join('')}concat=n=${plan.length}:v=1:a=0`;
  await ffmpeg([...inputs, '-filter_complex', `${scaled};${joined}`, '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-pix_fmt', 'yuv420p', out]);
}

/**
 * A static camera: 30 s at 640x360 (or `size`: the bench's is 1080p), 10 fps (or `fps`),
 * home.jpg as the unchanging background and messi5.jpg's players (half the frame wide)
 * crossing half of it from 10 s to 20 s, then gone.
 */
export async function staticCameraVideo(out: string, size = { width: 640, height: 360 }, fps = 10): Promise<void> {
  const { width: w, height: h } = size;
  const x = `if(between(t,10,20),(t-10)*${w / 20},${-2 * w})`;
  const graph = `[0]scale=${w}:${h},setsar=1[bg];[1]scale=${w / 2}:-2[fg];[bg][fg]overlay=x='${x}':y=${h / 3}:shortest=1,fps=${fps},format=yuv420p[v]`;
  await ffmpeg(['-loop', '1', '-t', '30', '-i', 'test/fixtures/home.jpg', '-loop', '1', '-t', '30', '-i', 'test/fixtures/messi5.jpg', '-filter_complex', graph, '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', out]);
}

/**
 * 20 s, 640x360, 10 fps, a static camera (home.jpg) with people (messi5.jpg) crossing twice:
 * 2-6 s and 12-16 s, so a review has two person segments apart from each other.
 */
export async function twoEventsVideo(out: string): Promise<void> {
  const x = "if(between(t,2,6),(t-2)*80,if(between(t,12,16),(t-12)*80,-1000))";
  const graph = `[0]scale=640:360,setsar=1[bg];[1]scale=320:-2[fg];[bg][fg]overlay=x='${x}':y=120:shortest=1,fps=10,format=yuv420p[v]`;
  await ffmpeg(['-loop', '1', '-t', '20', '-i', 'test/fixtures/home.jpg', '-loop', '1', '-t', '20', '-i', 'test/fixtures/messi5.jpg', '-filter_complex', graph, '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', out]);
}

/**
 * 20 s, 640x360, 10 fps, a dark board with two overlaid strings (ffmpeg drawtext): `first`
 * from 3 to 8 s and `second` from 12 to 17 s.
 */
export async function twoTextsVideo(out: string, first: string, second: string): Promise<void> {
  const font = 'fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
  const draw = (text: string, y: number, from: number, to: number) => `drawtext=${font}:text='${text}':fontsize=44:fontcolor=white:x=60:y=${y}:enable='between(t,${from},${to})'`;
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=0x183a6b:s=640x360:r=10:d=20', '-vf', `${draw(first, 110, 3, 8)},${draw(second, 230, 12, 17)}`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', out]);
}

/** Where cuesVideo's cues are, in seconds (25 fps, so one frame is 0.04 s). */
export const CUES_TRUTH = {
  /** Hard cuts: the first frame of the new shot (a cut into black and out of it is one boundary, where the picture is back). */
  cuts: [3, 13, 16],
  /** A fade out (home.jpg, 5.5-6 s), black 6-7 s, a fade in (messi5.jpg, 7-7.5 s): one boundary, where the picture comes back. */
  fadeThroughBlack: { blackStartS: 6, blackEndS: 7, fadeS: 0.5 },
  /** A black insert between two hard cuts. */
  black: { startS: 12, endS: 13 },
  /** messi5.jpg's pan stops at 10 s and holds until the cut into black at 12 s. */
  frozen: { startS: 10, endS: 12 },
  durationS: 19,
};

/**
 * 19 s at 25 fps, 320x240, every shot a pan over a real photo (so only the frozen insert is
 * still): fruits 0-3, home 3-6 (fading out from 5.5), black 6-7, messi5 7-12 (fading in to
 * 7.5, panning until 10, then held), black 12-13, basketball1 13-16, fruits 16-19.
 */
export async function cuesVideo(out: string): Promise<void> {
  const pan = (seconds: number, until = seconds) => `scale=640:480,setsar=1,crop=320:240:x='20+60*min(t\\,${until})':y=60,fps=25,format=yuv420p,trim=duration=${seconds}`;
  const black = (seconds: number) => `color=black:s=320x240:r=25:d=${seconds},format=yuv420p`;
  const shots = [
    `[0]${pan(3)}[a]`,
    `[1]${pan(3)},fade=out:st=2.5:d=0.5[b]`,
    `${black(1)}[k1]`,
    `[2]${pan(5, 3)},fade=in:st=0:d=0.5[c]`,
    `${black(1)}[k2]`,
    `[3]${pan(3)}[d]`,
    `[4]${pan(3)}[e]`,
    '[a][b][k1][c][k2][d][e]concat=n=7:v=1:a=0[v]',
  ];
  const inputs = [['fruits.jpg', 3], ['home.jpg', 3], ['messi5.jpg', 5], ['basketball1.png', 3], ['fruits.jpg', 3]].flatMap(([f, s]) => ['-loop', '1', '-t', String(s), '-i', `test/fixtures/${f}`]);
  await ffmpeg([...inputs, '-filter_complex', shots.join(';'), '-map', '[v]', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-pix_fmt', 'yuv420p', out]);
}

/** Messi's face in messi5.jpg (548x342), cheek to chin and hairline to chin, read by hand (as test/face-detector.test.ts). */
const MESSI_FACE = { x: 225, y: 100, width: 33, height: 32 };
/** A square crop of messi5.jpg, three face widths across, the face in its middle (little of the other players). */
const FACE_CROP = { left: 191, top: 66, width: 100, height: 100 };

/** One face of movingFacesVideo: its width, where its crop's top-left goes from and to, and when it is hidden. */
export interface MovingFace {
  faceWidth: number;
  /** The face's width at the clip's end, grown (or shrunk) evenly from faceWidth: a face coming nearer. Unset: faceWidth throughout. */
  toFaceWidth?: number;
  from: { x: number; y: number };
  to: { x: number; y: number };
  /** Seconds [start, end) the face is covered by a patch of background (an occlusion). */
  hidden?: [number, number];
}

/** The default cast: 80, 40, 24 and 20 px faces crossing a 1280x720 frame; the 40 px one hidden 2-3.2 s. */
export const MOVING_FACES: MovingFace[] = [
  { faceWidth: 80, from: { x: 40, y: 40 }, to: { x: 900, y: 120 } },
  { faceWidth: 40, from: { x: 1100, y: 330 }, to: { x: 300, y: 300 }, hidden: [2, 3.2] },
  { faceWidth: 24, from: { x: 200, y: 560 }, to: { x: 700, y: 500 } },
  { faceWidth: 20, from: { x: 880, y: 600 }, to: { x: 1180, y: 560 } },
];

/** Where each face truly is on one frame (source pixels), and whether it can be seen. */
export interface FaceTruth {
  face: number;
  faceWidth: number;
  box: { x: number; y: number; width: number; height: number };
  visible: boolean;
}

/**
 * A known-truth clip for face redaction: `background` stretched to 1280x720, the faces of
 * `faces` (crops of messi5.jpg scaled so the face is `faceWidth` wide) moving in straight lines
 * over `seconds` at `fps`, each composited by sharp on whole pixels, piped raw into libx264
 * (crf 18). Returns each frame's true face boxes (frame i is at i / fps).
 */
export async function movingFacesVideo(out: string, o: { seconds?: number; fps?: number; background?: string; faces?: MovingFace[] } = {}): Promise<FaceTruth[][]> {
  const { seconds = 6, fps = 25, background = 'test/fixtures/home.jpg', faces = MOVING_FACES } = o;
  const { default: sharp } = await import('sharp');
  const [width, height] = [1280, 720];
  const backdrop = await sharp(background).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  // The crop at each face width a frame needs, made once per whole-pixel side.
  const cropCache = new Map<number, Promise<Buffer>>();
  const cropAt = (faceWidth: number) => {
    const k = faceWidth / MESSI_FACE.width;
    const side = Math.round(FACE_CROP.width * k);
    if (!cropCache.has(side)) cropCache.set(side, sharp('test/fixtures/messi5.jpg').extract(FACE_CROP).resize(side, side).removeAlpha().png().toBuffer());
    // k as the crop was drawn (its whole-pixel side), so the true box matches the pixels.
    return { k: side / FACE_CROP.width, input: cropCache.get(side)! };
  };
  const { spawn } = await import('node:child_process');
  const encoder = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', out], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => encoder.once('close', resolve));
  const truth: FaceTruth[][] = [];
  const frames = Math.round(seconds * fps);
  for (let i = 0; i < frames; i++) {
    const t = i / fps;
    const share = frames > 1 ? i / (frames - 1) : 0;
    const placed = await Promise.all(faces.map(async (f, face) => {
      const left = Math.round(f.from.x + (f.to.x - f.from.x) * share);
      const top = Math.round(f.from.y + (f.to.y - f.from.y) * share);
      const faceWidth = f.faceWidth + ((f.toFaceWidth ?? f.faceWidth) - f.faceWidth) * share;
      const crop = cropAt(faceWidth);
      const { k } = crop;
      const visible = !f.hidden || t < f.hidden[0] || t >= f.hidden[1];
      const box = { x: left + (MESSI_FACE.x - FACE_CROP.left) * k, y: top + (MESSI_FACE.y - FACE_CROP.top) * k, width: MESSI_FACE.width * k, height: MESSI_FACE.height * k };
      return { layer: { input: await crop.input, left, top }, truth: { face, faceWidth: f.faceWidth, box, visible } };
    }));
    const layers = placed.filter((p) => p.truth.visible).map((p) => p.layer);
    const frame = await sharp(backdrop, { raw: { width, height, channels: 3 } }).composite(layers).removeAlpha().raw().toBuffer();
    truth.push(placed.map((p) => p.truth));
    if (!encoder.stdin.write(frame)) await new Promise((resolve) => encoder.stdin.once('drain', resolve));
  }
  encoder.stdin.end();
  if ((await exited) !== 0) throw new Error('ffmpeg could not encode the moving faces clip');
  return truth;
}

/** `input`'s picture with a 440 Hz tone from `fromS` to `toS` and silence elsewhere (AAC, 48 kHz), for checking sound against picture. */
export async function withTone(input: string, out: string, fromS: number, toS: number, seconds: number): Promise<void> {
  const tone = `aevalsrc='if(between(t,${fromS},${toS}),0.5*sin(2*PI*440*t),0)':s=48000:d=${seconds}`;
  await ffmpeg(['-i', input, '-f', 'lavfi', '-i', tone, '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', out]);
}

/** Where plateOnCarVideo's rendered plate is on one frame (source pixels). */
export interface PlateTruth {
  box: { x: number; y: number; width: number; height: number };
}

/**
 * A known-truth clip for plate redaction: licenseplate_motion.jpg (the back of a real car)
 * scaled to 420x337, with a rendered plate (white, black border, "FW 2026" in DejaVu Sans Bold,
 * 170x44, composited by sharp over the photo's own plate) driving in a straight line across
 * home.jpg stretched to 1280x720, over `seconds` at `fps` (libx264 crf 18). Returns each
 * frame's true plate box (frame i is at i / fps).
 */
export async function plateOnCarVideo(out: string, o: { seconds?: number; fps?: number } = {}): Promise<PlateTruth[]> {
  const { seconds = 4, fps = 25 } = o;
  const { default: sharp } = await import('sharp');
  const [width, height] = [1280, 720];
  const plate = { width: 170, height: 44, left: 125, top: 205 };
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${plate.width}" height="${plate.height}"><rect x="1.5" y="1.5" width="${plate.width - 3}" height="${plate.height - 3}" fill="white" stroke="black" stroke-width="3"/><text x="${plate.width / 2}" y="33" font-family="DejaVu Sans" font-weight="bold" font-size="30" text-anchor="middle">FW 2026</text></svg>`;
  const car = await sharp('test/fixtures/licenseplate_motion.jpg').resize(420, 337).composite([{ input: Buffer.from(svg), left: plate.left, top: plate.top }]).removeAlpha().png().toBuffer();
  const backdrop = await sharp('test/fixtures/home.jpg').resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const { spawn } = await import('node:child_process');
  const encoder = spawn(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', out], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => encoder.once('close', resolve));
  const truth: PlateTruth[] = [];
  const frames = Math.round(seconds * fps);
  for (let i = 0; i < frames; i++) {
    const share = frames > 1 ? i / (frames - 1) : 0;
    const [left, top] = [Math.round(60 + 760 * share), Math.round(300 + 40 * share)];
    const frame = await sharp(backdrop, { raw: { width, height, channels: 3 } }).composite([{ input: car, left, top }]).removeAlpha().raw().toBuffer();
    truth.push({ box: { x: left + plate.left, y: top + plate.top, width: plate.width, height: plate.height } });
    if (!encoder.stdin.write(frame)) await new Promise((resolve) => encoder.stdin.once('drain', resolve));
  }
  encoder.stdin.end();
  if ((await exited) !== 0) throw new Error('ffmpeg could not encode the plate clip');
  return truth;
}
