/**
 * Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter for the wasm backend as OpenBLAS matrix products
 * (sgemm) on the wasm heap, over a zero-padded copy of the input kept outside the heap.
 *
 * - Conv2D and Conv2DBackpropFilter build the im2col matrix [positions, filterHeight * filterWidth *
 *   inChannels] of a chunk of images and run one product per chunk with the filter or with dy. At
 *   stride 1 on large images they run one product per filter tap instead (shifted GEMMs, see
 *   usesShiftedProducts), which copies less.
 * - Conv2DBackpropInput at stride 1 is the convolution of dy, padded by filterSize - 1 - forwardPadding,
 *   with the flipped filter whose channel axes are swapped, and runs as above.
 * - Conv2DBackpropInput at larger strides runs one product per filter tap ("shifted GEMMs"), each adding
 *   dy Wᵀ(kh, kw) into the padded input gradient (see scatterInputGradient).
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeBlas } from '../native-blas.ts';
import { type WasmBackend, heapIndexOf, wholeHeapOf } from './heap.ts';

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/**
 * The minimum number of input and output channels that the products run with. With fewer, such as the
 * 3 channels of an RGB stem, the products are too thin to beat XNNPACK's convolution.
 */
const MIN_CHANNELS = 16;

/**
 * The maximum number of elements of one scratch buffer. The batch runs in chunks of whole images so that
 * a chunk's padded input and its im2col or pseudo-indexed matrix stay within this (one image always
 * runs, whatever its size). 8 Mi elements are 32 MiB.
 */
const DEFAULT_SCRATCH_ELEMENTS = 8 * 1024 * 1024;
let scratchElements = DEFAULT_SCRATCH_ELEMENTS;

/** Sets the scratch buffer limit in elements, or restores the default. Tests use it to split small batches into chunks. */
export function setScratchElements(elements: number = DEFAULT_SCRATCH_ELEMENTS): void {
  scratchElements = elements;
}

/** The geometry of an NHWC convolution with dilation 1 and explicit padding. */
interface Geometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  top: number;
  left: number;
  /** The padded input's size: large enough for every tap of every output position and for the padding. */
  paddedHeight: number;
  paddedWidth: number;
}

function geometryOf(
  dimensions: Omit<Geometry, 'paddedHeight' | 'paddedWidth'>,
  bottom: number,
  right: number,
): Geometry {
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, top, left } =
    dimensions;
  return {
    ...dimensions,
    paddedHeight: Math.max(top + inHeight + bottom, strideHeight * (outHeight - 1) + filterHeight),
    paddedWidth: Math.max(left + inWidth + right, strideWidth * (outWidth - 1) + filterWidth),
  };
}

/** Returns the geometry of a convolution that the products cover, or null (see MIN_CHANNELS). */
export function blasGeometryOf(info: Conv2DInfo): Geometry | null {
  if (info.dataFormat !== 'channelsLast' || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  if (info.inChannels < MIN_CHANNELS || info.outChannels < MIN_CHANNELS) return null;
  if (info.batchSize === 0 || info.outHeight === 0 || info.outWidth === 0) return null;
  const { padInfo } = info;
  return geometryOf(
    {
      batchSize: info.batchSize,
      inHeight: info.inHeight,
      inWidth: info.inWidth,
      inChannels: info.inChannels,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
      outChannels: info.outChannels,
      filterHeight: info.filterHeight,
      filterWidth: info.filterWidth,
      strideHeight: info.strideHeight,
      strideWidth: info.strideWidth,
      top: padInfo.top,
      left: padInfo.left,
    },
    padInfo.bottom,
    padInfo.right,
  );
}

/** Returns whether every output position is one input pixel: a 1x1 filter at stride 1 without padding. */
function isPointwise(geometry: Geometry): boolean {
  const { filterHeight, filterWidth, strideHeight, strideWidth, top, left, paddedHeight, paddedWidth } = geometry;
  return (
    filterHeight === 1 &&
    filterWidth === 1 &&
    strideHeight === 1 &&
    strideWidth === 1 &&
    top === 0 &&
    left === 0 &&
    paddedHeight === geometry.inHeight &&
    paddedWidth === geometry.inWidth
  );
}

/** Scratch buffers kept between calls. They only grow, to about scratchElements each (more for one huge image). */
const scratchBuffers = new Map<string, Float32Array>();

function scratchBuffer(name: 'work' | 'pseudo' | 'filter', length: number): Float32Array {
  let buffer = scratchBuffers.get(name);
  if (buffer == null || buffer.length < length) {
    buffer = new Float32Array(length);
    scratchBuffers.set(name, buffer);
  }
  return buffer;
}

function paddedImageElements(geometry: Geometry): number {
  return geometry.paddedHeight * geometry.paddedWidth * geometry.inChannels;
}

/**
 * Copies images first..first+images-1 of the NHWC input (at `sourceStart` in `source`) into `padded`
 * from index 0, with zeros around them.
 */
function fillPadded(
  geometry: Geometry,
  source: Float32Array,
  sourceStart: number,
  first: number,
  images: number,
  padded: Float32Array,
): void {
  const { inHeight, inWidth, inChannels, paddedHeight, paddedWidth, top, left } = geometry;
  const rowElements = inWidth * inChannels;
  padded.fill(0, 0, images * paddedImageElements(geometry));
  for (let n = 0; n < images; n++) {
    for (let h = 0; h < inHeight; h++) {
      const from = sourceStart + ((first + n) * inHeight + h) * rowElements;
      const to = ((n * paddedHeight + top + h) * paddedWidth + left) * inChannels;
      padded.set(source.subarray(from, from + rowElements), to);
    }
  }
}

/**
 * Writes the im2col matrix of `images` padded images (stored in `work` from index 0) into `work` from
 * `colsStart`: row (n, i, j) contains the filterHeight x filterWidth x inChannels input values that output
 * position (n, i, j) reads. The filterWidth pixels of one filter row are adjacent in the padded input,
 * so each filter row is one copyWithin.
 */
function fillColumns(geometry: Geometry, images: number, work: Float32Array, colsStart: number): void {
  const { outHeight, outWidth, inChannels, filterHeight, filterWidth, strideHeight, strideWidth, paddedHeight, paddedWidth } =
    geometry;
  const runElements = filterWidth * inChannels;
  let target = colsStart;
  for (let n = 0; n < images; n++) {
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        for (let kh = 0; kh < filterHeight; kh++) {
          const from = ((n * paddedHeight + strideHeight * i + kh) * paddedWidth + strideWidth * j) * inChannels;
          work.copyWithin(target, from, from + runElements);
          target += runElements;
        }
      }
    }
  }
}

/**
 * The maximum number of padded pixels per output position for which a stride-1 convolution runs as
 * shifted GEMMs. Those compute every padded position, so they waste the padding's share, but they skip
 * the im2col copy, which writes filterHeight * filterWidth values per input value. Measured in one
 * OpenBLAS 0.3.21 thread on an AMD EPYC with AVX-512, with WRN16-4's layer shapes: 56 x 56 images at
 * 64 channels (ratio 1.07) ran at about 75 GFLOP/s shifted and 60 with im2col. 4 x 4 images at 256
 * channels (ratio 2.25) ran at 46 shifted and 89 with im2col.
 */
const MAX_SHIFTED_PADDING_RATIO = 1.3;

/** Returns whether a convolution runs as shifted GEMMs rather than as one im2col product per chunk. */
function usesShiftedProducts(geometry: Geometry): boolean {
  const { strideHeight, strideWidth, paddedHeight, paddedWidth, outHeight, outWidth } = geometry;
  if (strideHeight !== 1 || strideWidth !== 1) return false;
  return (paddedHeight * paddedWidth) / (outHeight * outWidth) <= MAX_SHIFTED_PADDING_RATIO;
}

/**
 * Returns the images per chunk of a shifted-GEMM product. At stride 1, output position (n, i, j) of a
 * chunk gets the pseudo index q = (n * paddedHeight + i) * paddedWidth + j, and the padded pixel that
 * tap (kh, kw) reads for it is q + kh * paddedWidth + kw.
 */
function shiftedChunkOf(geometry: Geometry): number {
  const pseudoImage = geometry.paddedHeight * geometry.paddedWidth * Math.max(geometry.inChannels, geometry.outChannels);
  return Math.max(1, Math.min(geometry.batchSize, Math.floor(scratchElements / pseudoImage)));
}

function shiftedRowsOf(geometry: Geometry, images: number): number {
  return ((images - 1) * geometry.paddedHeight + geometry.outHeight - 1) * geometry.paddedWidth + geometry.outWidth;
}

/** Copies the output rows of a chunk between an NHWC tensor (at `tensorStart`) and the stride-1 pseudo-indexed matrix. */
function copyPseudoRows(
  geometry: Geometry,
  tensor: Float32Array,
  tensorStart: number,
  first: number,
  images: number,
  pseudo: Float32Array,
  direction: 'to-tensor' | 'to-pseudo',
): void {
  const { outHeight, outWidth, outChannels, paddedHeight, paddedWidth } = geometry;
  const rowElements = outWidth * outChannels;
  for (let n = 0; n < images; n++) {
    for (let i = 0; i < outHeight; i++) {
      const pseudoStart = (n * paddedHeight + i) * paddedWidth * outChannels;
      const tensorRow = tensorStart + ((first + n) * outHeight + i) * rowElements;
      if (direction === 'to-tensor') tensor.set(pseudo.subarray(pseudoStart, pseudoStart + rowElements), tensorRow);
      else pseudo.set(tensor.subarray(tensorRow, tensorRow + rowElements), pseudoStart);
    }
  }
}

/** Returns the images per chunk of an im2col product, by scratchElements. */
function imagesPerColumnChunk(geometry: Geometry): number {
  const { outHeight, outWidth, filterHeight, filterWidth, inChannels } = geometry;
  const perImage = paddedImageElements(geometry) + outHeight * outWidth * filterHeight * filterWidth * inChannels;
  return Math.max(1, Math.min(geometry.batchSize, Math.floor(scratchElements / perImage)));
}

/**
 * Convolves the NHWC input at `sourceStart` in `source` with the filter [filterHeight, filterWidth,
 * inChannels, outChannels] at `filterStart` in `filter`, writing the NHWC output at `targetStart` in
 * `target`. The arrays may be the same (the wasm heap); the output must not overlap the inputs.
 */
function convolve(
  blas: NativeBlas,
  geometry: Geometry,
  source: Float32Array,
  sourceStart: number,
  filter: Float32Array,
  filterStart: number,
  target: Float32Array,
  targetStart: number,
): void {
  const { batchSize, inChannels, outChannels, outHeight, outWidth, filterHeight, filterWidth } = geometry;
  if (isPointwise(geometry)) {
    const pixels = batchSize * geometry.inHeight * geometry.inWidth;
    blas.sgemm(false, false, pixels, outChannels, inChannels, 1, source.subarray(sourceStart), inChannels,
      filter.subarray(filterStart), outChannels, 0, target.subarray(targetStart), outChannels);
    return;
  }
  if (usesShiftedProducts(geometry)) {
    convolveShifted(blas, geometry, source, sourceStart, filter, filterStart, target, targetStart);
    return;
  }
  const depth = filterHeight * filterWidth * inChannels;
  const chunk = imagesPerColumnChunk(geometry);
  for (let first = 0; first < batchSize; first += chunk) {
    const images = Math.min(chunk, batchSize - first);
    const positions = images * outHeight * outWidth;
    const colsStart = images * paddedImageElements(geometry);
    const work = scratchBuffer('work', colsStart + positions * depth);
    fillPadded(geometry, source, sourceStart, first, images, work);
    fillColumns(geometry, images, work, colsStart);
    const output = target.subarray(targetStart + first * outHeight * outWidth * outChannels);
    blas.sgemm(false, false, positions, outChannels, depth, 1, work.subarray(colsStart), depth,
      filter.subarray(filterStart), outChannels, 0, output, outChannels);
  }
}

/** Runs `convolve` as one product per filter tap and chunk, accumulated in the pseudo-indexed output. */
function convolveShifted(
  blas: NativeBlas,
  geometry: Geometry,
  source: Float32Array,
  sourceStart: number,
  filter: Float32Array,
  filterStart: number,
  target: Float32Array,
  targetStart: number,
): void {
  const { batchSize, inChannels, outChannels, filterHeight, filterWidth, paddedWidth } = geometry;
  const chunk = shiftedChunkOf(geometry);
  const tapElements = inChannels * outChannels;
  for (let first = 0; first < batchSize; first += chunk) {
    const images = Math.min(chunk, batchSize - first);
    const rows = shiftedRowsOf(geometry, images);
    const padded = scratchBuffer('work', images * paddedImageElements(geometry));
    const pseudo = scratchBuffer('pseudo', rows * outChannels);
    fillPadded(geometry, source, sourceStart, first, images, padded);
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        const tap = kh * filterWidth + kw;
        blas.sgemm(false, false, rows, outChannels, inChannels, 1, padded.subarray((kh * paddedWidth + kw) * inChannels),
          inChannels, filter.subarray(filterStart + tap * tapElements), outChannels, tap === 0 ? 0 : 1, pseudo, outChannels);
      }
    }
    copyPseudoRows(geometry, target, targetStart, first, images, pseudo, 'to-tensor');
  }
}

/** Conv2D: x [batch, inHeight, inWidth, inChannels] and filter [fh, fw, inChannels, outChannels] give y. */
export function convolveWithBlas(
  blas: NativeBlas,
  backend: WasmBackend,
  geometry: Geometry,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
): tf.TensorInfo {
  const { batchSize, outHeight, outWidth, outChannels } = geometry;
  const output = backend.makeOutput([batchSize, outHeight, outWidth, outChannels], 'float32');
  // makeOutput may grow the heap, which detaches older views, so the view is taken after it.
  const heap = wholeHeapOf(backend, 'float32') as Float32Array;
  convolve(blas, geometry, heap, heapIndexOf(backend, x), heap, heapIndexOf(backend, filter), heap, heapIndexOf(backend, output));
  return output;
}

/** Conv2DBackpropFilter: dW [fh * fw * inChannels, outChannels] = im2col(x)ᵀ dy, summed over the chunks. */
export function filterGradientWithBlas(
  blas: NativeBlas,
  backend: WasmBackend,
  geometry: Geometry,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
): tf.TensorInfo {
  const { batchSize, inChannels, outChannels, outHeight, outWidth, filterHeight, filterWidth } = geometry;
  const output = backend.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  const heap = wholeHeapOf(backend, 'float32') as Float32Array;
  const xStart = heapIndexOf(backend, x);
  const dyStart = heapIndexOf(backend, dy);
  const gradient = heap.subarray(heapIndexOf(backend, output));

  if (isPointwise(geometry)) {
    const pixels = batchSize * geometry.inHeight * geometry.inWidth;
    blas.sgemm(true, false, inChannels, outChannels, pixels, 1, heap.subarray(xStart), inChannels,
      heap.subarray(dyStart), outChannels, 0, gradient, outChannels);
    return output;
  }
  if (usesShiftedProducts(geometry)) {
    filterGradientShifted(blas, geometry, heap, xStart, dyStart, gradient);
    return output;
  }
  const depth = filterHeight * filterWidth * inChannels;
  const chunk = imagesPerColumnChunk(geometry);
  for (let first = 0; first < batchSize; first += chunk) {
    const images = Math.min(chunk, batchSize - first);
    const positions = images * outHeight * outWidth;
    const colsStart = images * paddedImageElements(geometry);
    const work = scratchBuffer('work', colsStart + positions * depth);
    fillPadded(geometry, heap, xStart, first, images, work);
    fillColumns(geometry, images, work, colsStart);
    const dyChunk = heap.subarray(dyStart + first * outHeight * outWidth * outChannels);
    blas.sgemm(true, false, depth, outChannels, positions, 1, work.subarray(colsStart), depth,
      dyChunk, outChannels, first === 0 ? 0 : 1, gradient, outChannels);
  }
  return output;
}

/**
 * Computes dW[kh, kw] = sum over chunks of paddedTap(kh, kw)ᵀ dy as shifted GEMMs. dy goes into a zeroed
 * pseudo-indexed matrix, so the pseudo indices that are no output position add nothing. NOTE: where x
 * contains NaN or infinity, such an index adds 0 * NaN = NaN to the taps that read it, where the cpu
 * backend's gradient can stay finite.
 */
function filterGradientShifted(
  blas: NativeBlas,
  geometry: Geometry,
  heap: Float32Array,
  xStart: number,
  dyStart: number,
  gradient: Float32Array,
): void {
  const { batchSize, inChannels, outChannels, filterHeight, filterWidth, paddedWidth } = geometry;
  const chunk = shiftedChunkOf(geometry);
  const tapElements = inChannels * outChannels;
  for (let first = 0; first < batchSize; first += chunk) {
    const images = Math.min(chunk, batchSize - first);
    const rows = shiftedRowsOf(geometry, images);
    const padded = scratchBuffer('work', images * paddedImageElements(geometry));
    const pseudo = scratchBuffer('pseudo', rows * outChannels);
    fillPadded(geometry, heap, xStart, first, images, padded);
    pseudo.fill(0, 0, rows * outChannels);
    copyPseudoRows(geometry, heap, dyStart, first, images, pseudo, 'to-pseudo');
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        const tap = kh * filterWidth + kw;
        blas.sgemm(true, false, inChannels, outChannels, rows, 1, padded.subarray((kh * paddedWidth + kw) * inChannels),
          inChannels, pseudo, outChannels, first === 0 ? 0 : 1, gradient.subarray(tap * tapElements), outChannels);
      }
    }
  }
}

/**
 * Conv2DBackpropInput: dy [batch, outHeight, outWidth, outChannels] and filter [fh, fw, inChannels,
 * outChannels] give dx [batch, inHeight, inWidth, inChannels].
 */
export function inputGradientWithBlas(
  blas: NativeBlas,
  backend: WasmBackend,
  geometry: Geometry,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels } = geometry;
  const output = backend.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  const heap = wholeHeapOf(backend, 'float32') as Float32Array;
  const dyStart = heapIndexOf(backend, dy);
  const filterStart = heapIndexOf(backend, filter);
  const outputStart = heapIndexOf(backend, output);
  const transposed = transposedGeometryOf(geometry);
  if (transposed != null) {
    const flipped = flipFilter(geometry, heap, filterStart);
    convolve(blas, transposed, heap, dyStart, flipped, 0, heap, outputStart);
  } else {
    scatterInputGradient(blas, geometry, heap, dyStart, filterStart, outputStart);
  }
  return output;
}

/**
 * Returns the geometry of the stride-1 convolution of dy that gives dx, padded by filterSize - 1 - p for
 * each forward padding p. Returns null when the forward stride is not 1, or when a forward padding
 * beyond filterSize - 1 would make that padding negative.
 */
function transposedGeometryOf(geometry: Geometry): Geometry | null {
  const { strideHeight, strideWidth, filterHeight, filterWidth, top, left } = geometry;
  if (strideHeight !== 1 || strideWidth !== 1) return null;
  // The forward bottom and right padding that the output used: rows past them were never read.
  const bottom = geometry.outHeight - 1 + filterHeight - top - geometry.inHeight;
  const right = geometry.outWidth - 1 + filterWidth - left - geometry.inWidth;
  const pads = [filterHeight - 1 - top, filterHeight - 1 - bottom, filterWidth - 1 - left, filterWidth - 1 - right];
  if (pads.some((pad) => pad < 0)) return null;
  return geometryOf(
    {
      batchSize: geometry.batchSize,
      inHeight: geometry.outHeight,
      inWidth: geometry.outWidth,
      inChannels: geometry.outChannels,
      outHeight: geometry.inHeight,
      outWidth: geometry.inWidth,
      outChannels: geometry.inChannels,
      filterHeight,
      filterWidth,
      strideHeight: 1,
      strideWidth: 1,
      top: pads[0],
      left: pads[2],
    },
    pads[1],
    pads[3],
  );
}

/** Returns the filter flipped in both spatial axes with its channel axes swapped: [fh, fw, outChannels, inChannels]. */
function flipFilter(geometry: Geometry, heap: Float32Array, filterStart: number): Float32Array {
  const { filterHeight, filterWidth, inChannels, outChannels } = geometry;
  const taps = filterHeight * filterWidth;
  const tapElements = inChannels * outChannels;
  const flipped = scratchBuffer('filter', taps * tapElements);
  for (let tap = 0; tap < taps; tap++) {
    const source = filterStart + (taps - 1 - tap) * tapElements;
    const target = tap * tapElements;
    for (let ci = 0; ci < inChannels; ci++) {
      for (let co = 0; co < outChannels; co++) {
        flipped[target + co * inChannels + ci] = heap[source + ci * outChannels + co];
      }
    }
  }
  return flipped;
}

/**
 * Computes dx at strides above 1 as one product per tap, each adding dy Wᵀ(kh, kw) into the padded
 * input gradient. An output position (n, i, j) gets the pseudo index q = (n * paddedHeight +
 * strideHeight * i) * rowLength + j, with rowLength = paddedWidth / strideWidth (paddedWidth rounded up
 * to a multiple of strideWidth). The padded pixel that tap (kh, kw) reaches from q is then strideWidth *
 * q + kh * paddedWidth + kw. So for each tap, the pixels of all positions form one matrix with row
 * stride strideWidth * inChannels, whose rows never overlap. dy goes into a zeroed matrix of pseudo indices,
 * so the indices that are no output position add zeros. NOTE: at stride 2 about half of the arithmetic
 * is spent on those zeros.
 */
function scatterInputGradient(
  blas: NativeBlas,
  geometry: Geometry,
  heap: Float32Array,
  dyStart: number,
  filterStart: number,
  outputStart: number,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = geometry;
  const { filterHeight, filterWidth, strideHeight, strideWidth, paddedHeight, top, left } = geometry;
  const paddedWidth = Math.ceil(geometry.paddedWidth / strideWidth) * strideWidth;
  const rowLength = paddedWidth / strideWidth;
  const paddedImage = paddedHeight * paddedWidth * inChannels;
  const pseudoImage = paddedHeight * rowLength * outChannels;
  const chunk = Math.max(1, Math.min(batchSize, Math.floor(scratchElements / Math.max(paddedImage, pseudoImage))));
  const tapElements = inChannels * outChannels;
  const dyRowElements = outWidth * outChannels;
  const dxRowElements = inWidth * inChannels;

  for (let first = 0; first < batchSize; first += chunk) {
    const images = Math.min(chunk, batchSize - first);
    // Pseudo indices up to the chunk's last output position.
    const rows = ((images - 1) * paddedHeight + strideHeight * (outHeight - 1)) * rowLength + outWidth;
    const padded = scratchBuffer('work', images * paddedImage);
    const pseudo = scratchBuffer('pseudo', rows * outChannels);
    padded.fill(0, 0, images * paddedImage);
    pseudo.fill(0, 0, rows * outChannels);
    for (let n = 0; n < images; n++) {
      for (let i = 0; i < outHeight; i++) {
        const from = dyStart + ((first + n) * outHeight + i) * dyRowElements;
        pseudo.set(heap.subarray(from, from + dyRowElements), (n * paddedHeight + strideHeight * i) * rowLength * outChannels);
      }
    }
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        const tap = kh * filterWidth + kw;
        blas.sgemm(false, true, rows, inChannels, outChannels, 1, pseudo, outChannels,
          heap.subarray(filterStart + tap * tapElements), outChannels, 1,
          padded.subarray((kh * paddedWidth + kw) * inChannels), strideWidth * inChannels);
      }
    }
    for (let n = 0; n < images; n++) {
      for (let h = 0; h < inHeight; h++) {
        const from = ((n * paddedHeight + top + h) * paddedWidth + left) * inChannels;
        heap.set(padded.subarray(from, from + dxRowElements), outputStart + ((first + n) * inHeight + h) * dxRowElements);
      }
    }
  }
}
