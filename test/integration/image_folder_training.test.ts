// nn.readImageFolder / nn.ImageFolder on PNG and JPEG files written here with @napi-rs/canvas:
// class indices, resize + centre crop, [-1, 1] tensors through a DataLoader, the errors for
// unreadable files and empty folders, and image_wgan training on such a folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import * as nn from '../../nn/index.js';
import { imageOptions, runImageWgan } from '../../experiments/image_wgan.js';
import { useGpu } from '../support/gpu.js';

useGpu();

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'alr-folder-'));

/** A w x h image: left half `left`, right half `right` (RGB 0-255), as PNG or JPEG bytes. */
function picture(w: number, h: number, left: number[], right: number[], mime: 'image/png' | 'image/jpeg'): Buffer {
  const c = createCanvas(w, h);
  const ctx = c.getContext('2d');
  ctx.fillStyle = `rgb(${left.join(',')})`;
  ctx.fillRect(0, 0, w / 2, h);
  ctx.fillStyle = `rgb(${right.join(',')})`;
  ctx.fillRect(w / 2, 0, w / 2, h);
  return mime === 'image/png' ? c.toBuffer('image/png') : c.toBuffer('image/jpeg', 100);
}

function write(root: string, rel: string, bytes: Buffer | string): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), bytes);
}

describe('image folders', () => {
  it('classes sorted, files sorted, resized and centre-cropped, normalised to [-1, 1], feeding a DataLoader', async () => {
    const root = tmp();
    // a wide PNG: the centre crop keeps a 16x16 square across the colour boundary
    write(root, 'cat/b.png', picture(32, 16, [255, 0, 0], [0, 0, 255], 'image/png'));
    write(root, 'cat/a.png', picture(8, 8, [10, 20, 30], [10, 20, 30], 'image/png'));
    write(root, 'dog/nested/c.JPG', picture(20, 20, [200, 200, 200], [200, 200, 200], 'image/jpeg'));
    write(root, 'dog/readme.txt', 'not an image');
    const d = await nn.readImageFolder(root, { size: 4 });
    expect(d.classes).toEqual(['cat', 'dog']);
    expect(d.classToIdx).toEqual({ cat: 0, dog: 1 });
    expect(d.files.map((f) => path.relative(root, f))).toEqual([
      'cat/a.png',
      'cat/b.png',
      path.join('dog', 'nested', 'c.JPG'),
    ]);
    expect([...d.targets]).toEqual([0, 0, 1]);
    expect([d.n, d.c, d.h, d.w]).toEqual([3, 3, 4, 4]);
    const px = (i: number, c: number, y: number, x: number) => d.pixels[((i * 3 + c) * 4 + y) * 4 + x];
    expect([px(0, 0, 1, 1), px(0, 1, 1, 1), px(0, 2, 1, 1)]).toEqual([10, 20, 30]); // upscaled uniform image
    expect([px(1, 0, 2, 0), px(1, 2, 2, 0)]).toEqual([255, 0]); // left column of the crop: red
    expect([px(1, 0, 2, 3), px(1, 2, 2, 3)]).toEqual([0, 255]); // right column: blue
    for (let c = 0; c < 3; c++) expect(Math.abs(px(2, c, 0, 0) - 200)).toBeLessThanOrEqual(2); // JPEG, quality 100
    const grey = await nn.readImageFolder(root, { size: 2, channels: 1 });
    expect(grey.c).toBe(1);
    expect(grey.pixels[0]).toBe(Math.floor((10 * 299 + 20 * 587 + 30 * 114) / 1000));

    const ds = await nn.ImageFolder.load(root, { size: 4 });
    expect([...ds.images.shape]).toEqual([3, 3, 4, 4]);
    const v = await ds.images.toFloat32();
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...v)).toBeLessThanOrEqual(1);
    expect(v[16 * 0 + 5]).toBeCloseTo(10 / 127.5 - 1, 6);
    const loader = ds.loader({ batch: 2, shuffle: false });
    const { batch } = E.tidy(() => loader.next());
    expect([...batch[0].shape]).toEqual([2, 3, 4, 4]);
    expect([...(await batch[1].toFloat32())]).toEqual([0, 0]);
    E.dispose(batch);
    ds.dispose();
  });

  it('clear errors: unreadable files, empty class folders, no classes, bad options', async () => {
    const root = tmp();
    await expect(nn.readImageFolder(path.join(root, 'missing'), { size: 8 })).rejects.toThrow(
      /readImageFolder: folder .*missing does not exist/,
    );
    await expect(nn.readImageFolder(root, { size: 8 })).rejects.toThrow(
      /has no class folders \(expected .*<class>\/<image>.png/,
    );
    write(root, 'a/x.png', picture(4, 4, [1, 2, 3], [1, 2, 3], 'image/png'));
    fs.mkdirSync(path.join(root, 'b'));
    await expect(nn.readImageFolder(root, { size: 8 })).rejects.toThrow(
      /no image files \(.png, .jpg, .jpeg\) in class folder\(s\) .*\/b \(pass allowEmpty: true/,
    );
    const ok = await nn.readImageFolder(root, { size: 8, allowEmpty: true });
    expect(ok.classes).toEqual(['a', 'b']);
    write(root, 'b/broken.png', Buffer.from('this is not a PNG file'));
    await expect(nn.readImageFolder(root, { size: 8 })).rejects.toThrow(
      /readImageFolder: cannot decode .*b\/broken.png as an image/,
    );
    await expect(nn.readImageFolder(root, { size: 0 })).rejects.toThrow(
      /readImageFolder: option 'size' must be an integer >= 1 and <= 4096, got 0/,
    );
    await expect(nn.readImageFolder(root, { size: 8, channels: 2 as 1 })).rejects.toThrow(
      /option 'channels' must be one of 1, 3, got 2/,
    );
    await expect(nn.readImageFolder(root, { sise: 8 } as unknown as nn.ImageFolderOptions)).rejects.toThrow(
      /unknown option 'sise' \(did you mean 'size'\?\)/,
    );
    await expect(nn.readImageFolder(root, {} as nn.ImageFolderOptions)).rejects.toThrow(/option 'size' is required/);
  });

  it('image_wgan trains on an image folder (--folder, quick)', async () => {
    const root = tmp();
    const colours = [
      [250, 10, 10],
      [10, 250, 10],
      [10, 10, 250],
    ];
    for (const [k, c] of colours.entries()) {
      for (let i = 0; i < 6; i++)
        write(
          root,
          `class${k}/${i}.png`,
          picture(
            40,
            36,
            c,
            c.map((v) => 255 - v),
            'image/png',
          ),
        );
    }
    const out = tmp();
    const o = imageOptions({
      config: 'fmnist',
      reg: 'alp',
      norm: 'none',
      quick: true,
      folder: root,
      size: 32,
      channels: 3,
      out,
      progress: false,
      seed: 0,
    });
    const s = await runImageWgan({ ...o, iters: 1, criticIters: 1 });
    expect(Number.isFinite(s.final.wasserstein)).toBe(true);
    expect(fs.existsSync(path.join(out, 'samples.png'))).toBe(true);
    expect(() => imageOptions({ config: 'fmnist', reg: 'alp', norm: 'none', channels: 2, out })).toThrow(
      /^--channels: expected 1 or 3 for fmnist, got 2$/,
    );
    expect(() => imageOptions({ config: 'cifar10', reg: 'alp', norm: 'none', channels: 1, out })).toThrow(
      /^--channels: expected 3 for cifar10, got 1$/,
    );
  });
});
