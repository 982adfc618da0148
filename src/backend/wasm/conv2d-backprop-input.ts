/**
 * Conv2DBackpropInput for the wasm backend. The stock kernel of @tensorflow/tfjs-backend-wasm 4.22.0 is
 * correct but runs a scalar C++ loop, several times slower than XNNPACK. This kernel runs the gradient as
 * XNNPACK convolutions of dy with parts of the filter.
 */
import * as tf from '@tensorflow/tfjs';
import { type ExplicitPadding, computeConvolutionInfo, runConv2D } from './convolution-common.ts';
import {
  type KernelArguments,
  type WasmBackend,
  disposeIntermediates,
  heapIndexOf,
  makeZeroOutput,
  runWasmKernel,
  wholeHeapOf,
} from './heap.ts';

/**
 * One phase of a strided transposed convolution along one axis. The input positions h with
 * (h + padBefore) mod stride = phase receive gradient only from the filter taps phase, phase + stride,
 * phase + 2*stride and so on, so they are a stride-1 convolution of dy with those taps.
 */
interface AxisPhase {
  /** Filter taps in sub-filter order, which is reversed because dx[q] takes dy[q - m] times tap m. */
  taps: number[];
  /** Padding of dy before and after for the stride-1 convolution (negative means dy must be cropped). */
  padBefore: number;
  padAfter: number;
  /** How many input positions belong to the phase, and the first of them. */
  count: number;
  firstPosition: number;
}

/**
 * Splits one axis of the gradient into its `stride` phases. inSize and outSize are the forward input
 * and output sizes, padBefore the forward padding before the first element. Phases without taps (when
 * filterSize < stride) or without positions are left out, so their positions get zero gradient.
 */
function splitAxis(inSize: number, outSize: number, filterSize: number, stride: number, padBefore: number): AxisPhase[] {
  const phases: AxisPhase[] = [];
  for (let phase = 0; phase < stride; phase++) {
    const tapCount = phase < filterSize ? Math.ceil((filterSize - phase) / stride) : 0;
    // Position h is q*stride + phase - padBefore for q from firstQuotient to lastQuotient.
    const firstQuotient = Math.ceil((padBefore - phase) / stride);
    const lastQuotient = Math.floor((inSize - 1 + padBefore - phase) / stride);
    const count = lastQuotient - firstQuotient + 1;
    if (tapCount === 0 || count <= 0) continue;

    const taps: number[] = [];
    for (let u = 0; u < tapCount; u++) taps.push(phase + stride * (tapCount - 1 - u));
    const padBeforeDy = tapCount - 1 - firstQuotient;
    phases.push({
      taps,
      padBefore: padBeforeDy,
      padAfter: count + tapCount - 1 - outSize - padBeforeDy,
      count,
      firstPosition: firstQuotient * stride + phase - padBefore,
    });
  }
  return phases;
}

/**
 * Builds the sub-filter [rowTaps.length, columnTaps.length, outChannels, inChannels] whose block (u, v)
 * is block (rowTaps[u], columnTaps[v]) of `swapped`, the filter with its channel axes swapped.
 */
function gatherSubFilter(
  backend: WasmBackend,
  swapped: tf.TensorInfo,
  rowTaps: number[],
  columnTaps: number[],
): tf.TensorInfo {
  const [, filterWidth, outChannels, inChannels] = swapped.shape;
  const blockSize = outChannels * inChannels;
  const subFilter = backend.makeOutput([rowTaps.length, columnTaps.length, outChannels, inChannels], 'float32');
  const heap = wholeHeapOf(backend, 'float32');
  const sourceStart = heapIndexOf(backend, swapped);
  let target = heapIndexOf(backend, subFilter);
  for (const row of rowTaps) {
    for (const column of columnTaps) {
      const source = sourceStart + (row * filterWidth + column) * blockSize;
      heap.copyWithin(target, source, source + blockSize);
      target += blockSize;
    }
  }
  return subFilter;
}

/**
 * Copies z [batch, rowPhase.count, columnPhase.count, channels] into dx [batch, inHeight, inWidth,
 * channels] at rows rowPhase.firstPosition + k*strideHeight and the matching columns.
 */
function scatterPhase(
  backend: WasmBackend,
  z: tf.TensorInfo,
  dx: tf.TensorInfo,
  rowPhase: AxisPhase,
  columnPhase: AxisPhase,
  strideHeight: number,
  strideWidth: number,
): void {
  const [batchSize, inHeight, inWidth, channels] = dx.shape;
  const heap = wholeHeapOf(backend, 'float32');
  let source = heapIndexOf(backend, z);
  const targetStart = heapIndexOf(backend, dx);
  const rowLength = columnPhase.count * channels;
  for (let n = 0; n < batchSize; n++) {
    for (let k = 0; k < rowPhase.count; k++) {
      const row = rowPhase.firstPosition + k * strideHeight;
      const targetRow = targetStart + ((n * inHeight + row) * inWidth + columnPhase.firstPosition) * channels;
      if (strideWidth === 1) {
        heap.copyWithin(targetRow, source, source + rowLength);
        source += rowLength;
        continue;
      }
      for (let l = 0; l < columnPhase.count; l++) {
        heap.copyWithin(targetRow + l * strideWidth * channels, source, source + channels);
        source += channels;
      }
    }
  }
}

/**
 * Writes dy [batch, outHeight, outWidth, channels] into a zero tensor [batch, paddedHeight, paddedWidth,
 * channels] at rows top + i*strideHeight and columns left + j*strideWidth. Elements that land outside
 * are dropped, so negative `top` or `left` crop.
 */
function dilateAndPad(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  strideHeight: number,
  strideWidth: number,
  top: number,
  left: number,
  paddedHeight: number,
  paddedWidth: number,
): tf.TensorInfo {
  const [batchSize, outHeight, outWidth, channels] = dy.shape;
  const output = makeZeroOutput(backend, [batchSize, paddedHeight, paddedWidth, channels], 'float32');
  const heap = wholeHeapOf(backend, 'float32');
  const sourceStart = heapIndexOf(backend, dy);
  const targetStart = heapIndexOf(backend, output);

  // Columns j whose target column left + j*strideWidth lies in [0, paddedWidth).
  const firstColumn = Math.max(0, Math.ceil(-left / strideWidth));
  const lastColumn = Math.min(outWidth - 1, Math.floor((paddedWidth - 1 - left) / strideWidth));
  if (lastColumn < firstColumn) return output;

  for (let n = 0; n < batchSize; n++) {
    for (let i = 0; i < outHeight; i++) {
      const row = top + i * strideHeight;
      if (row < 0 || row >= paddedHeight) continue;
      const sourceRow = sourceStart + (n * outHeight + i) * outWidth * channels;
      const targetRow = targetStart + (n * paddedHeight + row) * paddedWidth * channels;
      if (strideWidth === 1) {
        const begin = sourceRow + firstColumn * channels;
        const end = sourceRow + (lastColumn + 1) * channels;
        heap.copyWithin(targetRow + (left + firstColumn) * channels, begin, end);
        continue;
      }
      for (let j = firstColumn; j <= lastColumn; j++) {
        const begin = sourceRow + j * channels;
        heap.copyWithin(targetRow + (left + j * strideWidth) * channels, begin, begin + channels);
      }
    }
  }
  return output;
}

/** Returns the taps of a filter axis in reverse order: filterSize - 1 down to 0. */
function reversedTaps(filterSize: number): number[] {
  return Array.from({ length: filterSize }, (_, index) => filterSize - 1 - index);
}

/**
 * Conv2DBackpropInput: dy [batch, outHeight, outWidth, outChannels] and filter [filterHeight,
 * filterWidth, inChannels, outChannels] give dx of attrs.inputShape [batch, inHeight, inWidth, inChannels].
 *
 * dx is a stride-1 convolution of dy, padded by filterSize - 1 - forwardPadding, with the filter flipped in
 * both spatial axes and its channel axes swapped. With a forward stride s, each of the s*s phases of dx
 * (positions with the same remainder modulo s) is such a convolution with only the taps of that phase.
 * So the work equals that of the forward pass, where inserting zeros into dy would multiply it by s*s.
 * Unusual explicit padding (more than filterSize - 1) makes a phase's padding negative; that case inserts
 * the zeros into dy and crops it instead.
 */
function conv2DBackpropInput({ inputs, backend: kernelBackend, attrs = {} }: KernelArguments): tf.TensorInfo {
  const backend = kernelBackend as WasmBackend;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = computeConvolutionInfo(
    'Conv2DBackpropInput',
    inputShape,
    filter.shape as [number, number, number, number],
    attrs,
  );
  const { batchSize, inHeight, inWidth, outHeight, outWidth } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  if (!tf.util.arraysEqual(dy.shape, info.outShape)) {
    throw new Error(`Conv2DBackpropInput: dy has shape ${dy.shape}, expected ${info.outShape}.`);
  }
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error('The wasm Conv2DBackpropInput kernel supports only float32 tensors.');
  }
  if (batchSize === 0 || inHeight === 0 || inWidth === 0 || outHeight === 0 || outWidth === 0) {
    return makeZeroOutput(backend, [...inputShape], 'float32');
  }

  // [filterHeight, filterWidth, outChannels, inChannels]
  const swapped = runWasmKernel('Transpose', backend, { x: filter }, { perm: [0, 1, 3, 2] });
  const rowPhases = splitAxis(inHeight, outHeight, filterHeight, strideHeight, padInfo.top);
  const columnPhases = splitAxis(inWidth, outWidth, filterWidth, strideWidth, padInfo.left);
  const paddingIsValid = [...rowPhases, ...columnPhases].every((phase) => phase.padBefore >= 0 && phase.padAfter >= 0);

  let inputGradient: tf.TensorInfo;
  if (!paddingIsValid) {
    inputGradient = runWithInsertedZeros(backend, dy, swapped, info);
  } else if (strideHeight === 1 && strideWidth === 1) {
    // A single phase whose output is dx itself.
    inputGradient = runPhase(backend, dy, swapped, rowPhases[0], columnPhases[0]);
  } else {
    // Positions of phases without taps keep a zero gradient; otherwise every position is written once.
    const everyPositionWritten = rowPhases.length === strideHeight && columnPhases.length === strideWidth;
    inputGradient = everyPositionWritten
      ? backend.makeOutput([...inputShape], 'float32')
      : makeZeroOutput(backend, [...inputShape], 'float32');
    for (const rowPhase of rowPhases) {
      for (const columnPhase of columnPhases) {
        const z = runPhase(backend, dy, swapped, rowPhase, columnPhase);
        scatterPhase(backend, z, inputGradient, rowPhase, columnPhase, strideHeight, strideWidth);
        disposeIntermediates(backend, z);
      }
    }
  }
  disposeIntermediates(backend, swapped);

  if (!tf.util.arraysEqual(inputGradient.shape, inputShape)) {
    const shape = inputGradient.shape;
    disposeIntermediates(backend, inputGradient);
    throw new Error(`Conv2DBackpropInput: internal shape ${shape}, expected ${inputShape}.`);
  }
  return inputGradient;
}

/** Convolves dy with the taps of one phase, giving [batch, rowPhase.count, columnPhase.count, inChannels]. */
function runPhase(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  swapped: tf.TensorInfo,
  rowPhase: AxisPhase,
  columnPhase: AxisPhase,
): tf.TensorInfo {
  const subFilter = gatherSubFilter(backend, swapped, rowPhase.taps, columnPhase.taps);
  const padding: ExplicitPadding = [
    [0, 0],
    [rowPhase.padBefore, rowPhase.padAfter],
    [columnPhase.padBefore, columnPhase.padAfter],
    [0, 0],
  ];
  const z = runConv2D(backend, dy, subFilter, padding, [1, 1]);
  disposeIntermediates(backend, subFilter);
  return z;
}

/** Computes dx as one convolution of dy with zeros inserted and cropped, for padding beyond filterSize - 1. */
function runWithInsertedZeros(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  swapped: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { inHeight, inWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const flipped = gatherSubFilter(backend, swapped, reversedTaps(filterHeight), reversedTaps(filterWidth));
  const padded = dilateAndPad(
    backend,
    dy,
    strideHeight,
    strideWidth,
    filterHeight - 1 - padInfo.top,
    filterWidth - 1 - padInfo.left,
    inHeight + filterHeight - 1,
    inWidth + filterWidth - 1,
  );
  const noPadding: ExplicitPadding = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  const inputGradient = runConv2D(backend, padded, flipped, noPadding, [1, 1]);
  disposeIntermediates(backend, flipped, padded);
  return inputGradient;
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
};
