// An image-folder data set (torchvision's ImageFolder): PNG / JPEG files under one folder per
// class, decoded by @napi-rs/canvas (Skia's decoders), resized so the shorter side is `size`
// and centre-cropped to size x size (torchvision's Resize + CenterCrop), as uint8 NCHW on the
// host or as tensors in [-1, 1] on the GPU that feed nn.DataLoader. Node only (files, and a
// native decoder): exported from the Node entry, not the browser one.
import fs from 'node:fs';
import path from 'node:path';
import { keep, tensor, type Tensor } from '../engine/web.js';
import { bool, checkOptions, num, oneOf, arrayOf, str } from '../engine/options.js';
import { DataLoader, type SamplerOptions } from './data.js';

export interface ImageFolderOptions {
  /** output height and width: the shorter side is resized to it, then the centre is cropped */
  size: number;
  /** 3 (RGB, default) or 1 (luminance as PIL's convert('L'): (299 R + 587 G + 114 B) / 1000) */
  channels?: 1 | 3;
  /** file extensions taken as images, lower case, default ['.png', '.jpg', '.jpeg'] */
  extensions?: string[];
  /** a class folder without images is an error unless true (torchvision's allow_empty) */
  allowEmpty?: boolean;
}

/** The decoded set on the host: pixels uint8 NCHW, one class index per image. */
export interface ImageFolderData {
  root: string;
  /** class names (sub-folder names), sorted */
  classes: string[];
  classToIdx: Record<string, number>;
  /** the image files, class by class, each class's files sorted by path */
  files: string[];
  /** class index of each image */
  targets: Int32Array;
  pixels: Uint8Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

const OPTIONS = {
  size: num({ int: true, min: 1, max: 4096 }),
  channels: oneOf([1, 3]),
  extensions: arrayOf(str),
  allowEmpty: bool,
};

type Canvas = typeof import('@napi-rs/canvas');
let canvasModule: Promise<Canvas> | null = null;

/** @napi-rs/canvas, loaded on first use (it is optional for the package's other uses). */
function loadCanvas(): Promise<Canvas> {
  canvasModule ??= import('@napi-rs/canvas').catch((e: Error) => {
    canvasModule = null;
    throw new Error(
      `ImageFolder: decoding images needs the @napi-rs/canvas package (npm install @napi-rs/canvas): ${e.message}`,
    );
  });
  return canvasModule;
}

/** Files under dir (recursively, as torchvision walks a class folder), sorted by path. */
function listFiles(dir: string, exts: Set<string>): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs
      .readdirSync(d, { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (exts.has(path.extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * Reads every image under root/<class>/...: class folders sorted by name get indices 0, 1, ...;
 * each image is decoded, resized (shorter side to `size`, smoothing on) and centre-cropped.
 * Errors name the file that could not be read or decoded, and the classes without images.
 */
export async function readImageFolder(root: string, opts: ImageFolderOptions): Promise<ImageFolderData> {
  const where = 'readImageFolder';
  if (typeof root !== 'string') throw new Error(`${where}: root must be a folder path, got ${typeof root}`);
  const o = checkOptions(where, opts, OPTIONS);
  if (o.size === undefined) throw new Error(`${where}: option 'size' is required (the output's height and width)`);
  const size = o.size;
  const C = o.channels ?? 3;
  const exts = new Set(
    (o.extensions ?? ['.png', '.jpg', '.jpeg']).map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()),
  );
  if (!fs.existsSync(root)) throw new Error(`${where}: folder ${root} does not exist`);
  if (!fs.statSync(root).isDirectory()) throw new Error(`${where}: ${root} is not a folder`);
  const classes = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (!classes.length)
    throw new Error(
      `${where}: ${root} has no class folders (expected ${root}/<class>/<image>.png, as torchvision's ImageFolder)`,
    );
  const files: string[] = [];
  const targets: number[] = [];
  const empty: string[] = [];
  classes.forEach((c, k) => {
    const fsOfClass = listFiles(path.join(root, c), exts);
    if (!fsOfClass.length) empty.push(c);
    for (const f of fsOfClass) files.push(f), targets.push(k);
  });
  const extList = [...exts].join(', ');
  if (!files.length)
    throw new Error(`${where}: no image files (${extList}) under ${root} (class folders: ${classes.join(', ')})`);
  if (empty.length && !o.allowEmpty) {
    throw new Error(
      `${where}: no image files (${extList}) in class folder(s) ${empty.map((c) => path.join(root, c)).join(', ')} (pass allowEmpty: true to keep such classes)`,
    );
  }
  const { createCanvas, loadImage } = await loadCanvas();
  const canvas = createCanvas(size, size);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  const plane = size * size;
  const pixels = new Uint8Array(files.length * C * plane);
  for (const [i, file] of files.entries()) {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (e) {
      throw new Error(`${where}: cannot read ${file}: ${(e as Error).message}`);
    }
    let img: Awaited<ReturnType<typeof loadImage>>;
    try {
      img = await loadImage(bytes);
    } catch (e) {
      throw new Error(
        `${where}: cannot decode ${file} as an image (${(e as Error).message || 'unsupported or corrupt data'})`,
      );
    }
    const w = img.width;
    const h = img.height;
    if (!(w > 0 && h > 0)) throw new Error(`${where}: cannot decode ${file} as an image (it has no pixels)`);
    // the centre square of the shorter side, scaled to size x size
    const side = Math.min(w, h);
    ctx.clearRect(0, 0, size, size);
    ctx.drawImage(img, (w - side) / 2, (h - side) / 2, side, side, 0, 0, size, size);
    const rgba = ctx.getImageData(0, 0, size, size).data;
    const base = i * C * plane;
    for (let p = 0; p < plane; p++) {
      const r = rgba[4 * p];
      const g = rgba[4 * p + 1];
      const b = rgba[4 * p + 2];
      if (C === 1) {
        pixels[base + p] = Math.floor((r * 299 + g * 587 + b * 114) / 1000);
      } else {
        pixels[base + p] = r;
        pixels[base + plane + p] = g;
        pixels[base + 2 * plane + p] = b;
      }
    }
  }
  return {
    root,
    classes,
    classToIdx: Object.fromEntries(classes.map((c, k) => [c, k])),
    files,
    targets: Int32Array.from(targets),
    pixels,
    n: files.length,
    c: C,
    h: size,
    w: size,
  };
}

/**
 * torchvision.datasets.ImageFolder with Resize(size) + CenterCrop(size) + ToTensor +
 * Normalize(0.5, 0.5), held on the GPU: `images` [N, C, size, size] in [-1, 1], `labels` [N]
 * (float32 class indices, as a DataLoader gathers them and nn.Embedding takes them), and on the
 * host `targets`, `classes`, `files`. Load with `await nn.ImageFolder.load(root, { size })`.
 */
export class ImageFolder {
  private constructor(
    readonly data: ImageFolderData,
    readonly images: Tensor,
    readonly labels: Tensor,
  ) {}

  static async load(root: string, opts: ImageFolderOptions): Promise<ImageFolder> {
    const d = await readImageFolder(root, opts);
    const x = new Float32Array(d.pixels.length);
    for (let i = 0; i < x.length; i++) x[i] = d.pixels[i] / 127.5 - 1;
    const images = keep(tensor(x, [d.n, d.c, d.h, d.w]));
    const labels = keep(tensor(Float32Array.from(d.targets), [d.n]));
    return new ImageFolder(d, images, labels);
  }

  get classes(): string[] {
    return this.data.classes;
  }
  get targets(): Int32Array {
    return this.data.targets;
  }
  get files(): string[] {
    return this.data.files;
  }
  get length(): number {
    return this.data.n;
  }

  /** A DataLoader over [images, labels] (batches of both, gathered on the GPU). */
  loader(opts: SamplerOptions): DataLoader {
    return new DataLoader([this.images, this.labels], opts);
  }

  dispose(): void {
    this.images.dispose();
    this.labels.dispose();
  }
}
