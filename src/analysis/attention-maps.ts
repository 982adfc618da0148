/**
 * Image attention maps: the G attention weights of a test image, upsampled bilinearly to the network
 * input (the centre crop that evaluation feeds the model) and drawn over it as a heat map.
 */
import sharp from 'sharp';
import { centreTransform } from '../data/index.ts';
import type { Predictions } from '../evaluate/evaluate.ts';
import type { Random } from '../random.ts';

/** Side of every attention map picture in pixels; small inputs are scaled up to it so that they can be read. */
export const ATTENTION_MAP_SIDE = 256;

/**
 * Colour stops of the heat map, from the map's smallest weight (blue) through cyan, green and yellow to
 * its largest weight (red): the usual "jet" ramp, easy to tell apart from a grey radiograph.
 */
const HEAT_STOPS: readonly [number, number, number][] = [
  [0, 0, 255],
  [0, 255, 255],
  [0, 255, 0],
  [255, 255, 0],
  [255, 0, 0],
];

/** Opacity of the heat map at the map's smallest and at its largest weight. */
const MIN_OPACITY = 0.15;
const MAX_OPACITY = 0.65;

/**
 * Pick up to `count` test images to draw. Half of them (rounded down) are misclassified without or with
 * text, and the rest are classified right both times. When one group runs short, the other fills its
 * places. Within each group the order is a seeded shuffle in which the labels take turns, so every label
 * appears. Returns sample indices, the right ones first.
 */
export function selectAttentionMapImages(
  withoutText: Pick<Predictions, 'labels' | 'predictions'>,
  withText: Pick<Predictions, 'labels' | 'predictions'>,
  count: number,
  random: Random,
): number[] {
  const right: number[] = [];
  const wrong: number[] = [];
  withoutText.labels.forEach((label, i) => {
    const correct = withoutText.predictions[i] === label && withText.predictions[i] === label;
    (correct ? right : wrong).push(i);
  });
  const interleave = (indices: number[]) => interleaveByLabel(random.shuffle([...indices]), withoutText.labels);
  const rightOrder = interleave(right);
  const wrongOrder = interleave(wrong);

  const total = Math.min(count, withoutText.labels.length);
  const wrongCount = Math.min(wrongOrder.length, Math.max(Math.floor(total / 2), total - rightOrder.length));
  const rightCount = total - wrongCount;
  return [...rightOrder.slice(0, rightCount), ...wrongOrder.slice(0, wrongCount)];
}

/** Reorder `indices` so that labels take turns, each label's indices keeping their order. */
function interleaveByLabel(indices: number[], labels: readonly number[]): number[] {
  const queues = new Map<number, number[]>();
  for (const index of indices) {
    const queue = queues.get(labels[index]) ?? [];
    queue.push(index);
    queues.set(labels[index], queue);
  }
  const order = [...queues.keys()].sort((a, b) => a - b);
  const result: number[] = [];
  while (result.length < indices.length) {
    for (const label of order) {
      const next = queues.get(label)!.shift();
      if (next !== undefined) result.push(next);
    }
  }
  return result;
}

/**
 * Upsample a height x width grid (row-major) to side x side by bilinear interpolation. Grid cell (r, c)
 * covers an equal part of the output and its value sits at that part's centre, as in
 * tf.image.resizeBilinear with halfPixelCenters. Beyond the outermost centres the edge value continues.
 */
export function upsampleBilinear(grid: ArrayLike<number>, height: number, width: number, side: number): Float32Array {
  if (grid.length !== height * width) throw new RangeError(`upsampleBilinear: ${grid.length} values for a ${height} x ${width} grid.`);
  const output = new Float32Array(side * side);
  for (let y = 0; y < side; y++) {
    const sourceY = Math.min(Math.max(((y + 0.5) * height) / side - 0.5, 0), height - 1);
    const top = Math.floor(sourceY);
    const bottom = Math.min(top + 1, height - 1);
    const fractionY = sourceY - top;
    for (let x = 0; x < side; x++) {
      const sourceX = Math.min(Math.max(((x + 0.5) * width) / side - 0.5, 0), width - 1);
      const left = Math.floor(sourceX);
      const right = Math.min(left + 1, width - 1);
      const fractionX = sourceX - left;
      const upper = grid[top * width + left] * (1 - fractionX) + grid[top * width + right] * fractionX;
      const lower = grid[bottom * width + left] * (1 - fractionX) + grid[bottom * width + right] * fractionX;
      output[y * side + x] = upper * (1 - fractionY) + lower * fractionY;
    }
  }
  return output;
}

/** Return the heat-map colour of `t` in [0, 1] as RGB bytes; values outside [0, 1] are clamped. */
export function heatColour(t: number): [number, number, number] {
  const position = Math.min(Math.max(t, 0), 1) * (HEAT_STOPS.length - 1);
  const lower = Math.min(Math.floor(position), HEAT_STOPS.length - 2);
  const fraction = position - lower;
  const [from, to] = [HEAT_STOPS[lower], HEAT_STOPS[lower + 1]];
  return [0, 1, 2].map((c) => Math.round(from[c] + (to[c] - from[c]) * fraction)) as [number, number, number];
}

/**
 * Cut the network input of one test image out of its resized pixels: the centre imageSize crop as RGB
 * bytes, the same crop that evaluation feeds the model, before mean subtraction.
 */
export function centreCrop(pixels: Uint8Array, resizeTo: number, imageSize: number): Uint8Array {
  const { offsetX, offsetY } = centreTransform(resizeTo, imageSize);
  const crop = new Uint8Array(imageSize * imageSize * 3);
  for (let row = 0; row < imageSize; row++) {
    const start = ((offsetY + row) * resizeTo + offsetX) * 3;
    crop.set(pixels.subarray(start, start + imageSize * 3), row * imageSize * 3);
  }
  return crop;
}

/** Encode an imageSize x imageSize RGB crop as a PNG of side ATTENTION_MAP_SIDE. */
export async function renderInputImage(crop: Uint8Array, imageSize: number): Promise<Buffer> {
  return sharp(crop, { raw: { width: imageSize, height: imageSize, channels: 3 } })
    .resize(ATTENTION_MAP_SIDE, ATTENTION_MAP_SIDE, { kernel: 'cubic' })
    .png()
    .toBuffer();
}

/**
 * Draw the image attention `weights` (a height x width grid) over an imageSize x imageSize RGB crop and
 * encode the result as a PNG of side ATTENTION_MAP_SIDE. Colours run from the smallest to the largest
 * weight of this grid, so they show where the attention is highest even when it is nearly uniform.
 * Two maps therefore share a colour scale only when they share both ends. A constant grid is all blue.
 */
export async function renderAttentionMap(
  crop: Uint8Array,
  imageSize: number,
  weights: ArrayLike<number>,
  height: number,
  width: number,
): Promise<Buffer> {
  const side = ATTENTION_MAP_SIDE;
  const upsampled = upsampleBilinear(weights, height, width, side);
  let smallest = Infinity;
  let largest = -Infinity;
  for (const weight of upsampled) {
    smallest = Math.min(smallest, weight);
    largest = Math.max(largest, weight);
  }
  const range = largest - smallest;

  const overlay = Buffer.alloc(side * side * 4);
  for (let i = 0; i < upsampled.length; i++) {
    const t = range > 0 ? (upsampled[i] - smallest) / range : 0;
    const [r, g, b] = heatColour(t);
    overlay[i * 4] = r;
    overlay[i * 4 + 1] = g;
    overlay[i * 4 + 2] = b;
    overlay[i * 4 + 3] = Math.round(255 * (MIN_OPACITY + (MAX_OPACITY - MIN_OPACITY) * t));
  }
  // A grey base keeps the heat colours readable on the few colour images among the radiographs.
  const grey = Buffer.alloc(crop.length);
  for (let p = 0; p < crop.length; p += 3) {
    const luma = Math.round(0.299 * crop[p] + 0.587 * crop[p + 1] + 0.114 * crop[p + 2]);
    grey[p] = grey[p + 1] = grey[p + 2] = luma;
  }
  const base = await sharp(grey, { raw: { width: imageSize, height: imageSize, channels: 3 } })
    .resize(side, side, { kernel: 'cubic' })
    .raw()
    .toBuffer();
  return sharp(base, { raw: { width: side, height: side, channels: 3 } })
    .composite([{ input: overlay, raw: { width: side, height: side, channels: 4 } }])
    .png()
    .toBuffer();
}
