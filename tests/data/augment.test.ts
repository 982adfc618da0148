import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Random } from '../../src/random.ts';
import { centreTransform, drawTransform, renderImage, type ImageTransform } from '../../src/data/augment.ts';

const ZERO_MEAN: [number, number, number] = [0, 0, 0];
const SETTINGS = { crop: true, mirror: true, rotationDegrees: 10 };

/** Make a size x size RGB image whose pixel (x, y) is [x * 10 + y, 100 + x, 200 - y]. */
function makeSource(size: number): Uint8Array {
  const source = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      source.set([x * 10 + y, 100 + x, 200 - y], (y * size + x) * 3);
    }
  }
  return source;
}

/** Render with `transform` and return the output scaled back to 0..255. */
function render(source: Uint8Array, sourceSize: number, outputSize: number, transform: ImageTransform): number[] {
  const output = new Float32Array(outputSize * outputSize * 3);
  renderImage(source, sourceSize, outputSize, transform, ZERO_MEAN, output, 0);
  return Array.from(output, (value) => value * 255);
}

/** Build the expected output from `map`, which takes an output pixel (x, y) to its source pixel (x, y). */
function expectedFrom(source: Uint8Array, sourceSize: number, outputSize: number, map: (x: number, y: number) => [number, number]): number[] {
  const expected: number[] = [];
  for (let y = 0; y < outputSize; y++) {
    for (let x = 0; x < outputSize; x++) {
      const [sourceX, sourceY] = map(x, y);
      const offset = (sourceY * sourceSize + sourceX) * 3;
      expected.push(source[offset], source[offset + 1], source[offset + 2]);
    }
  }
  return expected;
}

function assertClose(actual: number[], expected: number[], tolerance: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, index) => {
    assert.ok(Math.abs(value - expected[index]) <= tolerance, `element ${index}: ${value} against ${expected[index]}`);
  });
}

const identity = (offsetX = 0, offsetY = 0): ImageTransform => ({ offsetX, offsetY, angle: 0, mirror: false });

describe('renderImage', () => {
  const source = makeSource(6);

  test('identity copies exactly', () => {
    assert.deepEqual(render(source, 6, 6, identity()).map(Math.round), [...source]);
    assertClose(render(source, 6, 6, identity()), [...source], 1e-4);
  });

  test('crop offset shifts the window', () => {
    const expected = expectedFrom(source, 6, 4, (x, y) => [x + 2, y + 1]);
    assertClose(render(source, 6, 4, identity(2, 1)), expected, 1e-4);
  });

  test('mirror flips left-right', () => {
    const expected = expectedFrom(source, 6, 4, (x, y) => [1 + 3 - x, 1 + y]);
    assertClose(render(source, 6, 4, { offsetX: 1, offsetY: 1, angle: 0, mirror: true }), expected, 1e-4);
  });

  test('90 degrees turns counter-clockwise', () => {
    // Counter-clockwise on screen: the source's top-right corner moves to the output's top-left.
    const expected = expectedFrom(source, 6, 6, (x, y) => [5 - y, x]);
    assertClose(render(source, 6, 6, { ...identity(), angle: Math.PI / 2 }), expected, 1e-3);
  });

  test('180 degrees turns upside down', () => {
    const expected = expectedFrom(source, 6, 6, (x, y) => [5 - x, 5 - y]);
    assertClose(render(source, 6, 6, { ...identity(), angle: Math.PI }), expected, 1e-3);
  });

  test('rotation then mirror', () => {
    // Mirroring the 90-degree output: output (x, y) reads the 90-degree output at (5 - x, y).
    const expected = expectedFrom(source, 6, 6, (x, y) => [5 - y, 5 - x]);
    assertClose(render(source, 6, 6, { ...identity(), angle: Math.PI / 2, mirror: true }), expected, 1e-3);
  });

  test('small angle keeps the centre pixel', () => {
    const odd = makeSource(5);
    const output = render(odd, 5, 5, { ...identity(), angle: (7 * Math.PI) / 180 });
    const centre = (2 * 5 + 2) * 3;
    assertClose(output.slice(centre, centre + 3), [...odd.slice(centre, centre + 3)], 1e-3);
  });

  test('half-pixel shift interpolates bilinearly', () => {
    const output = render(source, 6, 4, identity(0.5, 0));
    // Pixel (0, 0) averages source pixels (0, 0) and (1, 0).
    assertClose(output.slice(0, 3), [(0 + 10) / 2, (100 + 101) / 2, 200], 1e-3);
  });

  test('outside pixels are black before the mean', () => {
    const white = new Uint8Array(8 * 8 * 3).fill(255);
    const mean: [number, number, number] = [0.5, 0.25, 0.125];
    const output = new Float32Array(8 * 8 * 3);
    renderImage(white, 8, 8, { ...identity(), angle: Math.PI / 4 }, mean, output, 0);
    assertClose(Array.from(output.slice(0, 3)), [-0.5, -0.25, -0.125], 1e-6);
    const centre = (4 * 8 + 4) * 3;
    assertClose(Array.from(output.slice(centre, centre + 3)), [0.5, 0.75, 0.875], 1e-6);
  });

  test('subtracts the mean per channel', () => {
    const flat = new Uint8Array(4 * 4 * 3).fill(51);
    const output = new Float32Array(4 * 4 * 3 + 5);
    renderImage(flat, 4, 4, identity(), [0.1, 0.2, 0.3], output, 5);
    assert.deepEqual(Array.from(output.slice(0, 5)), [0, 0, 0, 0, 0]);
    assertClose(Array.from(output.slice(5, 8)), [0.1, 0, -0.1], 1e-6);
  });
});

describe('drawTransform', () => {
  const drawMany = (seed: number, settings = SETTINGS) => {
    const random = new Random(seed);
    return Array.from({ length: 200 }, () => drawTransform(random, 72, 64, settings));
  };

  test('same seed same transforms', () => {
    assert.deepEqual(drawMany(7), drawMany(7));
    assert.notDeepEqual(drawMany(7), drawMany(8));
  });

  test('stays within the configured ranges', () => {
    const transforms = drawMany(11);
    const limit = (10 * Math.PI) / 180;
    for (const transform of transforms) {
      for (const offset of [transform.offsetX, transform.offsetY]) {
        assert.ok(Number.isInteger(offset), `offset ${offset}`);
        assert.ok(offset >= 0, `offset ${offset}`);
        assert.ok(offset <= 8, `offset ${offset}`);
      }
      assert.ok(Math.abs(transform.angle) <= limit, `angle ${transform.angle}`);
    }
    const mirrored = transforms.filter((transform) => transform.mirror).length;
    assert.ok(mirrored > 70, `mirrored ${mirrored} of 200`);
    assert.ok(mirrored < 130, `mirrored ${mirrored} of 200`);
    assert.equal(new Set(transforms.map((transform) => transform.offsetX)).size, 9);
  });

  test('disabled augmentations give the centre crop', () => {
    const transforms = drawMany(11, { crop: false, mirror: false, rotationDegrees: 0 });
    for (const transform of transforms) assert.deepEqual(transform, { offsetX: 4, offsetY: 4, angle: 0, mirror: false });
  });

  test('turning crop off keeps other draws', () => {
    const withCrop = drawMany(11);
    const withoutCrop = drawMany(11, { ...SETTINGS, crop: false });
    assert.deepEqual(
      withoutCrop.map((transform) => [transform.angle, transform.mirror]),
      withCrop.map((transform) => [transform.angle, transform.mirror]),
    );
  });
});

describe('centreTransform', () => {
  test('centres the crop', () => {
    assert.deepEqual(centreTransform(72, 64), { offsetX: 4, offsetY: 4, angle: 0, mirror: false });
    assert.deepEqual(centreTransform(73, 64), { offsetX: 4, offsetY: 4, angle: 0, mirror: false });
    assert.deepEqual(centreTransform(64, 64), { offsetX: 0, offsetY: 0, angle: 0, mirror: false });
  });
});
