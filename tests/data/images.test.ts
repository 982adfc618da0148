import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DataError } from '../../src/errors.ts';
import { computeChannelMean, decodeImage, decodeImages } from '../../src/data/images.ts';

let folder: string;
before(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'tandem-images-'));
});
after(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Write raw pixels (HWC, `channels` per pixel) as a PNG and return its path. */
async function writePng(name: string, width: number, height: number, channels: 1 | 3 | 4, pixels: number[]): Promise<string> {
  const filePath = path.join(folder, name);
  let image = sharp(Buffer.from(pixels), { raw: { width, height, channels } });
  if (channels === 1) image = image.toColourspace('b-w');
  await image.png().toFile(filePath);
  return filePath;
}

/** Pixel (x, y) of an HWC RGB image of width `width`. */
function pixelAt(image: Uint8Array, width: number, x: number, y: number): number[] {
  const offset = (y * width + x) * 3;
  return [image[offset], image[offset + 1], image[offset + 2]];
}

describe('decodeImage', () => {
  test('greyscale PNG becomes three channels', async () => {
    const values = [0, 40, 80, 120, 160, 200, 240, 255, 10, 20, 30, 50, 70, 90, 110, 130];
    const filePath = await writePng('grey.png', 4, 4, 1, values);
    assert.equal((await sharp(filePath).metadata()).channels, 1);
    const image = await decodeImage(filePath, 4, 'fill');
    assert.equal(image.length, 4 * 4 * 3);
    assert.deepEqual([...image], values.flatMap((value) => [value, value, value]));
  });

  test('RGBA PNG drops alpha', async () => {
    const rgba = [255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 10, 20, 30, 255];
    const filePath = await writePng('rgba.png', 2, 2, 4, rgba);
    assert.equal((await sharp(filePath).metadata()).channels, 4);
    const image = await decodeImage(filePath, 2, 'fill');
    assert.deepEqual([...image], [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
  });

  test('contain letterboxes with black', async () => {
    const filePath = await writePng('wide-white.png', 8, 4, 3, new Array(8 * 4 * 3).fill(255));
    const image = await decodeImage(filePath, 8, 'contain');
    for (const y of [0, 1, 6, 7]) assert.deepEqual(pixelAt(image, 8, 3, y), [0, 0, 0], `row ${y}`);
    for (const y of [2, 3, 4, 5]) assert.deepEqual(pixelAt(image, 8, 3, y), [255, 255, 255], `row ${y}`);
  });

  test('cover keeps the centre columns', async () => {
    const pixels: number[] = [];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) pixels.push(x * 30, x * 30, x * 30);
    const filePath = await writePng('columns.png', 8, 4, 3, pixels);
    const image = await decodeImage(filePath, 4, 'cover');
    assert.deepEqual([0, 1, 2, 3].map((x) => pixelAt(image, 4, x, 1)[0]), [60, 90, 120, 150]);
  });

  test('fill stretches without padding', async () => {
    const filePath = await writePng('wide-grey.png', 8, 4, 3, new Array(8 * 4 * 3).fill(100));
    const image = await decodeImage(filePath, 6, 'fill');
    assert.equal(image.length, 6 * 6 * 3);
    assert.ok(image.every((value) => value === 100));
  });

  test('corrupt file names file and fix', async () => {
    const filePath = path.join(folder, 'corrupt.jpg');
    await writeFile(filePath, Buffer.from('this is not a JPEG at all, only text bytes'));
    const error = await decodeImage(filePath, 8, 'contain').catch((caught) => caught);
    assert.ok(error instanceof DataError);
    assert.ok(error.message.startsWith(`Image file ${filePath} could not be decoded`), error.message);
    assert.match(error.message, /replace it with the unchanged file from the data set release/);
  });

  test('missing file names file and fix', async () => {
    const filePath = path.join(folder, 'absent.jpg');
    const error = await decodeImage(filePath, 8, 'contain').catch((caught) => caught);
    assert.ok(error instanceof DataError);
    assert.ok(error.message.startsWith(`Image file not found: ${filePath}.`), error.message);
    assert.match(error.message, /TANDEM_DATA_ROOT/);
  });
});

describe('decodeImages', () => {
  test('keeps order and reports progress', async () => {
    const paths = await Promise.all(
      [10, 20, 30, 40, 50].map((value) => writePng(`flat-${value}.png`, 3, 3, 3, new Array(27).fill(value))),
    );
    const progress: [number, number][] = [];
    const images = await decodeImages(paths, { size: 3, mode: 'fill', concurrency: 2, onProgress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(images.map((image) => image[0]), [10, 20, 30, 40, 50]);
    assert.deepEqual(progress, [[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
  });

  test('rejects with the first failure', async () => {
    const good = await writePng('good.png', 3, 3, 3, new Array(27).fill(1));
    const bad = path.join(folder, 'garbage.jpg');
    await writeFile(bad, Buffer.alloc(64, 7));
    const error = await decodeImages([good, bad, good], { size: 3, mode: 'fill' }).catch((caught) => caught);
    assert.ok(error instanceof DataError);
    assert.ok(error.message.includes(bad));
  });
});

describe('computeChannelMean', () => {
  test('averages each channel in [0, 1]', () => {
    const first = new Uint8Array([255, 0, 51, 255, 0, 51]);
    const second = new Uint8Array([0, 0, 102]);
    const mean = computeChannelMean([first, second]);
    assert.ok(Math.abs(mean[0] - 2 / 3) < 1e-12);
    assert.equal(mean[1], 0);
    assert.ok(Math.abs(mean[2] - 0.2 * 2 / 3 - 0.4 / 3) < 1e-12);
  });

  test('no images give zeros', () => {
    assert.deepEqual(computeChannelMean([]), [0, 0, 0]);
  });
});
