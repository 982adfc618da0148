import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DataError } from '../../src/errors.ts';
import {
  computeChannelMean,
  decodeImage,
  decodeImages,
  decodeImageWithInfo,
  detectImageFormat,
  ImageFileError,
  probeImageFile,
} from '../../src/data/images.ts';
import { value16, writeImage } from '../fixtures/manifest-fixture.ts';

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

describe('decodeImage formats', () => {
  test('16-bit greyscale PNG keeps the high byte', async () => {
    const filePath = path.join(folder, 'grey16.png');
    await writeImage(filePath, 'png-grey16', { width: 8, height: 8, variant: 3 });
    const metadata = await sharp(filePath).metadata();
    assert.equal(metadata.depth, 'ushort');
    assert.equal(metadata.channels, 1);
    const { pixels, info } = await decodeImageWithInfo(filePath, 8, 'fill');
    assert.deepEqual(info, { format: 'PNG', width: 8, height: 8, channels: 1, bitsPerSample: 16 });
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const expected = value16(x, y, 3) >> 8;
        assert.deepEqual(pixelAt(pixels, 8, x, y), [expected, expected, expected], `pixel ${x},${y}`);
      }
    }
  });

  test('16-bit RGB PNG keeps each channel', async () => {
    const filePath = path.join(folder, 'rgb16.png');
    await writeImage(filePath, 'png-rgb16', { width: 4, height: 4 });
    const { pixels, info } = await decodeImageWithInfo(filePath, 4, 'fill');
    assert.equal(info.bitsPerSample, 16);
    assert.deepEqual(pixelAt(pixels, 4, 2, 1), [0, 1, 2].map((channel) => value16(2, 1, channel) >> 8));
  });

  test('16-bit greyscale TIFF', async () => {
    const filePath = path.join(folder, 'grey16.tif');
    await writeImage(filePath, 'tiff-grey16', { width: 6, height: 6, variant: 1 });
    assert.equal((await sharp(filePath).metadata()).depth, 'ushort');
    const { pixels, info } = await decodeImageWithInfo(filePath, 6, 'fill');
    assert.deepEqual(info, { format: 'TIFF', width: 6, height: 6, channels: 1, bitsPerSample: 16 });
    const expected = value16(5, 2, 1) >> 8;
    assert.deepEqual(pixelAt(pixels, 6, 5, 2), [expected, expected, expected]);
  });

  test('8-bit RGB TIFF', async () => {
    const values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
    const filePath = path.join(folder, 'rgb.tiff');
    await sharp(Buffer.from(values), { raw: { width: 2, height: 2, channels: 3 } }).tiff({ compression: 'lzw' }).toFile(filePath);
    assert.deepEqual([...(await decodeImage(filePath, 2, 'fill'))], values);
  });

  test('large tile: crop keeps full resolution', async () => {
    const width = 1500;
    const height = 1200;
    const rgb = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        rgb[(y * width + x) * 3] = x % 256;
        rgb[(y * width + x) * 3 + 1] = y % 256;
      }
    }
    const filePath = path.join(folder, 'tile.tif');
    await sharp(rgb, { raw: { width, height, channels: 3 } }).tiff({ compression: 'lzw' }).toFile(filePath);

    const cropped = await decodeImage(filePath, 64, 'crop');
    const left = (width - 64) / 2;
    const top = (height - 64) / 2;
    assert.deepEqual(pixelAt(cropped, 64, 0, 0), [left % 256, top % 256, 0]);
    assert.deepEqual(pixelAt(cropped, 64, 63, 10), [(left + 63) % 256, (top + 10) % 256, 0]);

    const contained = await decodeImage(filePath, 64, 'contain');
    assert.equal(contained.length, 64 * 64 * 3);
  });

  test('crop pads a smaller side with black', async () => {
    const filePath = await writePng('small-wide.png', 10, 6, 3, new Array(10 * 6 * 3).fill(200));
    const image = await decodeImage(filePath, 8, 'crop');
    assert.deepEqual(pixelAt(image, 8, 4, 0), [0, 0, 0]);
    assert.deepEqual(pixelAt(image, 8, 4, 1), [200, 200, 200]);
    assert.deepEqual(pixelAt(image, 8, 4, 6), [200, 200, 200]);
    assert.deepEqual(pixelAt(image, 8, 4, 7), [0, 0, 0]);
    assert.deepEqual(pixelAt(image, 8, 0, 3), [200, 200, 200]);
  });

  test('GIF is an unsupported format', async () => {
    const filePath = path.join(folder, 'scan.gif');
    await writeImage(filePath, 'gif');
    const error = await decodeImage(filePath, 8, 'contain').catch((caught) => caught);
    assert.ok(error instanceof ImageFileError);
    assert.equal(error.code, 'unsupported-format');
    assert.equal(error.reason, 'is a GIF image; tandem reads JPEG, PNG, TIFF');
  });

  test('empty file and folder are unreadable', async () => {
    const empty = path.join(folder, 'empty.png');
    await writeFile(empty, '');
    const emptyError = await decodeImage(empty, 8, 'contain').catch((caught) => caught);
    assert.equal(emptyError.code, 'unreadable-image');
    assert.equal(emptyError.reason, 'is empty (0 bytes)');
    const folderError = await probeImageFile(folder).catch((caught) => caught);
    assert.equal(folderError.code, 'unreadable-image');
    assert.equal(folderError.reason, 'is a folder, not a file');
  });

  test('probe reads the signature only', async () => {
    const filePath = path.join(folder, 'truncated.png');
    const whole = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } }).png().toBuffer();
    await writeFile(filePath, whole.subarray(0, 20));
    assert.equal(await probeImageFile(filePath), 'PNG');
    const error = await decodeImage(filePath, 4, 'fill').catch((caught) => caught);
    assert.equal(error.code, 'unreadable-image');
  });
});

describe('detectImageFormat', () => {
  const bytes = (...values: number[]) => new Uint8Array(values);
  const text = (value: string, offset = 0) => {
    const head = new Uint8Array(offset + value.length);
    for (let i = 0; i < value.length; i++) head[offset + i] = value.charCodeAt(i);
    return head;
  };

  test('names supported and unsupported formats', () => {
    assert.equal(detectImageFormat(bytes(0xff, 0xd8, 0xff, 0xe0)), 'JPEG');
    assert.equal(detectImageFormat(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)), 'PNG');
    assert.equal(detectImageFormat(bytes(0x49, 0x49, 0x2a, 0x00)), 'TIFF');
    assert.equal(detectImageFormat(bytes(0x4d, 0x4d, 0x00, 0x2b)), 'TIFF');
    assert.equal(detectImageFormat(text('BM....')), 'BMP');
    assert.equal(detectImageFormat(text('DICM', 128)), 'DICOM');
    assert.equal(detectImageFormat(text('hello')), undefined);
  });
});
