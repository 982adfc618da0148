/**
 * Seeded training-time augmentation (random crop, rotation, left-right mirror) and the evaluation centre
 * crop. Crop, rotation and mirror are one geometric transform, so each output pixel takes a single
 * bilinear sample of the resized image.
 */
import type { Random } from '../random.ts';

/** Augmentation settings, with the same fields as `data.augment` in the config. */
export interface AugmentSettings {
  crop: boolean;
  mirror: boolean;
  rotationDegrees: number;
}

/** The geometric transform from a resized square image to one network input. */
export interface ImageTransform {
  /** Left column of the crop in the resized image, in pixels. */
  offsetX: number;
  /** Top row of the crop in the resized image, in pixels. */
  offsetY: number;
  /** Rotation about the crop centre in radians; positive turns the content counter-clockwise on screen. */
  angle: number;
  /** Whether the rotated crop is mirrored left-right. */
  mirror: boolean;
}

/** Return the evaluation transform: the centre `outputSize` crop of a `sourceSize` image, no rotation or mirror. */
export function centreTransform(sourceSize: number, outputSize: number): ImageTransform {
  const offset = Math.floor((sourceSize - outputSize) / 2);
  return { offsetX: offset, offsetY: offset, angle: 0, mirror: false };
}

/**
 * Draw a training transform from `random`. The crop offset is uniform over the whole-pixel positions that
 * keep the crop inside the image, or the centre crop when `settings.crop` is off. The angle is uniform in
 * [-rotationDegrees, rotationDegrees], and the mirror has probability 0.5 when `settings.mirror` is on.
 * Every call draws four numbers whatever the settings, so turning one augmentation off leaves the draws
 * of the others unchanged.
 */
export function drawTransform(
  random: Random,
  sourceSize: number,
  outputSize: number,
  settings: AugmentSettings,
): ImageTransform {
  const range = sourceSize - outputSize + 1;
  const offsetX = random.int(range);
  const offsetY = random.int(range);
  const mirror = random.next() < 0.5;
  const degrees = random.uniform(-settings.rotationDegrees, settings.rotationDegrees);
  const centre = centreTransform(sourceSize, outputSize);
  return {
    offsetX: settings.crop ? offsetX : centre.offsetX,
    offsetY: settings.crop ? offsetY : centre.offsetY,
    angle: (degrees * Math.PI) / 180,
    mirror: settings.mirror && mirror,
  };
}

/**
 * Render one network input into `output` starting at `outputOffset`: outputSize x outputSize x 3 floats,
 * HWC, each value `pixel / 255 - mean[channel]`. `source` is sourceSize x sourceSize x 3 bytes, HWC.
 * Each output pixel centre is mapped through the mirror, then the rotation about the crop centre, then
 * the crop offset, and sampled bilinearly. Source pixels outside the image count as black (0), the same
 * value as the letterbox padding of resizeMode contain, so after mean subtraction they equal -mean.
 * With a zero angle and whole-pixel offsets every sample falls on a pixel centre and copies it exactly.
 */
export function renderImage(
  source: Uint8Array,
  sourceSize: number,
  outputSize: number,
  transform: ImageTransform,
  mean: readonly [number, number, number],
  output: Float32Array,
  outputOffset: number,
): void {
  const cos = Math.cos(transform.angle);
  const sin = Math.sin(transform.angle);
  const half = outputSize / 2;
  const centreX = transform.offsetX + half;
  const centreY = transform.offsetY + half;
  const sample = [0, 0, 0];

  let target = outputOffset;
  for (let row = 0; row < outputSize; row++) {
    const dy = row + 0.5 - half;
    for (let column = 0; column < outputSize; column++) {
      const dx = transform.mirror ? half - column - 0.5 : column + 0.5 - half;
      // Source coordinates in pixel-index units: pixel (i, j) has its centre at (i, j).
      const x = centreX + cos * dx - sin * dy - 0.5;
      const y = centreY + sin * dx + cos * dy - 0.5;
      sampleBilinear(source, sourceSize, x, y, sample);
      output[target++] = sample[0] / 255 - mean[0];
      output[target++] = sample[1] / 255 - mean[1];
      output[target++] = sample[2] / 255 - mean[2];
    }
  }
}

/** Bilinear sample of the 3-channel `source` at (x, y), pixels outside the image being 0. */
function sampleBilinear(source: Uint8Array, size: number, x: number, y: number, result: number[]): void {
  const left = Math.floor(x);
  const top = Math.floor(y);
  const fractionX = x - left;
  const fractionY = y - top;
  result[0] = 0;
  result[1] = 0;
  result[2] = 0;
  for (let neighbourY = 0; neighbourY < 2; neighbourY++) {
    const sourceY = top + neighbourY;
    const weightY = neighbourY === 0 ? 1 - fractionY : fractionY;
    if (weightY === 0 || sourceY < 0 || sourceY >= size) continue;
    for (let neighbourX = 0; neighbourX < 2; neighbourX++) {
      const sourceX = left + neighbourX;
      const weight = weightY * (neighbourX === 0 ? 1 - fractionX : fractionX);
      if (weight === 0 || sourceX < 0 || sourceX >= size) continue;
      const index = (sourceY * size + sourceX) * 3;
      result[0] += weight * source[index];
      result[1] += weight * source[index + 1];
      result[2] += weight * source[index + 2];
    }
  }
}
