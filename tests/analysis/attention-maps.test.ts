import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import {
  ATTENTION_MAP_SIDE,
  centreCrop,
  heatColour,
  renderAttentionMap,
  renderInputImage,
  selectAttentionMapImages,
  upsampleBilinear,
} from '../../src/analysis/attention-maps.ts';
import { Random } from '../../src/random.ts';

describe('bilinear upsampling', () => {
  test('2 x 2 grid to 4 x 4 with half-pixel centres', () => {
    const output = Array.from(upsampleBilinear([0, 1, 2, 3], 2, 2, 4));
    // Rows of the source: [0, 1] and [2, 3]. Output columns sit at source x = -0.25, 0.25, 0.75, 1.25,
    // clamped to [0, 1], so each row reads v0, 0.75 v0 + 0.25 v1, 0.25 v0 + 0.75 v1, v1; rows likewise.
    const row = (a: number, b: number) => [a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b];
    const top = row(0, 1);
    const bottom = row(2, 3);
    const expected = [0, 1, 2, 3].flatMap((y) => {
      const fraction = [0, 0.25, 0.75, 1][y];
      return top.map((value, x) => value * (1 - fraction) + bottom[x] * fraction);
    });
    output.forEach((value, i) => assert.ok(Math.abs(value - expected[i]) < 1e-6, `pixel ${i}: ${value} != ${expected[i]}`));
  });

  test('constant grid stays constant', () => {
    const output = upsampleBilinear([0.25, 0.25, 0.25, 0.25, 0.25, 0.25], 2, 3, 7);
    assert.equal(output.length, 49);
    assert.ok(output.every((value) => Math.abs(value - 0.25) < 1e-7));
  });

  test('rejects a grid of the wrong size', () => {
    assert.throws(() => upsampleBilinear([1, 2, 3], 2, 2, 4), /3 values for a 2 x 2 grid/);
  });
});

describe('heat colours', () => {
  test('blue at 0, green at 0.5, red at 1, clamped outside', () => {
    assert.deepEqual(heatColour(0), [0, 0, 255]);
    assert.deepEqual(heatColour(0.5), [0, 255, 0]);
    assert.deepEqual(heatColour(1), [255, 0, 0]);
    assert.deepEqual(heatColour(-1), [0, 0, 255]);
    assert.deepEqual(heatColour(2), [255, 0, 0]);
  });
});

describe('centre crop', () => {
  test('takes the middle of the resized image', () => {
    // A 4 x 4 image whose red channel is the pixel index; the 2 x 2 centre crop starts at (1, 1).
    const pixels = new Uint8Array(4 * 4 * 3);
    for (let i = 0; i < 16; i++) pixels[i * 3] = i;
    const crop = centreCrop(pixels, 4, 2);
    assert.deepEqual([crop[0], crop[3], crop[6], crop[9]], [5, 6, 9, 10]);
  });
});

describe('attention map pictures', () => {
  test('hot cell is red and cold cell is blue', async () => {
    const side = 16;
    const crop = new Uint8Array(side * side * 3).fill(128);
    // 2 x 2 grid with all the weight in the top-left cell.
    const png = await renderAttentionMap(crop, side, [1, 0, 0, 0], 2, 2);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.width, ATTENTION_MAP_SIDE);
    assert.equal(info.height, ATTENTION_MAP_SIDE);
    const pixel = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    // The hot corner is mostly red; the cold corner is the grey base tinted a little blue.
    const hot = pixel(5, 5);
    const cold = pixel(ATTENTION_MAP_SIDE - 5, ATTENTION_MAP_SIDE - 5);
    assert.ok(hot[0] > 200, `top-left pixel ${hot} is not red enough`);
    assert.ok(hot[2] < 60, `top-left pixel ${hot} is too blue`);
    assert.ok(cold[2] - cold[0] > 30, `bottom-right pixel ${cold} is not blue-tinted`);
    assert.ok(Math.abs(cold[0] - cold[1]) <= 2, `bottom-right pixel ${cold} is not grey under the tint`);
  });

  test('input image keeps its pixels', async () => {
    const crop = new Uint8Array(8 * 8 * 3).fill(200);
    const { data, info } = await sharp(await renderInputImage(crop, 8)).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.width, ATTENTION_MAP_SIDE);
    assert.ok(Math.abs(data[0] - 200) <= 1, `first value ${data[0]}`);
    assert.ok(Math.abs(data[data.length - 1] - 200) <= 1, `last value ${data[data.length - 1]}`);
  });
});

describe('attention map selection', () => {
  // Eight images: labels 0, 1, 2 in turn. Images 1, 4 and 6 are wrong without text, image 2 is wrong with text.
  const labels = [0, 1, 2, 0, 1, 2, 0, 1];
  const withoutText = { labels, predictions: [0, 2, 2, 0, 0, 2, 1, 1] };
  const withText = { labels, predictions: [0, 1, 0, 0, 1, 2, 0, 1] };
  const wrong = new Set([1, 2, 4, 6]);

  test('half right and half wrong', () => {
    const selected = selectAttentionMapImages(withoutText, withText, 4, new Random(1));
    assert.equal(selected.length, 4);
    assert.equal(new Set(selected).size, 4);
    assert.equal(selected.filter((i) => wrong.has(i)).length, 2);
    assert.ok(selected.slice(0, 2).every((i) => !wrong.has(i)), `right ones first: ${selected}`);
  });

  test('tops up from the other group', () => {
    const count = (selected: number[], group: Set<number>) => selected.filter((i) => group.has(i)).length;
    const odd = selectAttentionMapImages(withoutText, withText, 7, new Random(1));
    assert.equal(count(odd, wrong), 3, 'an odd count rounds the wrong half down');
    assert.equal(odd.length, 7);

    // Only image 1 is wrong, so three right ones fill four places.
    const oneWrong = { labels, predictions: labels.map((label, i) => (i === 1 ? 0 : label)) };
    const fewWrong = selectAttentionMapImages(oneWrong, { labels, predictions: labels }, 4, new Random(1));
    assert.deepEqual([fewWrong.length, count(fewWrong, new Set([1]))], [4, 1]);

    // Every image is wrong, so four wrong ones fill four places.
    const allWrong = { labels, predictions: labels.map((label) => (label + 1) % 3) };
    assert.equal(selectAttentionMapImages(allWrong, allWrong, 4, new Random(1)).length, 4);

    assert.equal(selectAttentionMapImages(withoutText, withText, 20, new Random(1)).length, 8);
    assert.deepEqual(selectAttentionMapImages(withoutText, withText, 0, new Random(1)), []);
  });

  test('labels take turns and the seed fixes the choice', () => {
    const first = selectAttentionMapImages(withoutText, withText, 4, new Random(1));
    assert.deepEqual(selectAttentionMapImages(withoutText, withText, 4, new Random(1)), first);
    const rightLabels = first.slice(0, 2).map((i) => labels[i]);
    assert.notEqual(rightLabels[0], rightLabels[1], `two right images of one label: ${first}`);
  });
});
