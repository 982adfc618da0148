/**
 * Conv2DBackpropFilter for the wasm backend, which @tensorflow/tfjs-backend-wasm 4.22.0 does not register,
 * so tf.grads through tf.conv2d throws there. This kernel runs the gradient as one XNNPACK convolution,
 * or for unpadded 1x1 filters as one XNNPACK matrix product.
 */
import * as tf from '@tensorflow/tfjs';
import { type ExplicitPadding, computeConvolutionInfo, runConv2D } from './convolution-common.ts';
import {
  type KernelArguments,
  type WasmBackend,
  copyBox,
  disposeIntermediates,
  heapIndexOf,
  makeZeroOutput,
  runWasmKernel,
  wholeHeapOf,
} from './heap.ts';
import { batchMatMulConfig } from './batch-mat-mul.ts';

/**
 * Conv2DBackpropFilter: x [batch, inHeight, inWidth, inChannels] and dy [batch, outHeight, outWidth,
 * outChannels] give dW [filterHeight, filterWidth, inChannels, outChannels].
 *
 * dW[kh, kw, ci, co] = sum over n, i, j of xPadded[n, i*stride + kh, j*stride + kw, ci] * dy[n, i, j, co].
 * Take x transposed to [ci, h, w, n] as the input and dy transposed to [i, j, n, co] as the filter.
 * Then this sum is a stride-1 convolution whose dilation is the forward stride and whose output is
 * [kh, kw] large, which XNNPACK computes. Input rows and columns that the forward pass never read (when inHeight + pads -
 * filterHeight is not a multiple of the stride) are cropped first, because XNNPACK takes no negative
 * padding.
 */
function conv2DBackpropFilter({ inputs, backend: kernelBackend, attrs = {} }: KernelArguments): tf.TensorInfo {
  const backend = kernelBackend as WasmBackend;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = computeConvolutionInfo(
    'Conv2DBackpropFilter',
    x.shape as [number, number, number, number],
    filterShape,
    attrs,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  if (!tf.util.arraysEqual(dy.shape, info.outShape)) {
    throw new Error(`Conv2DBackpropFilter: dy has shape ${dy.shape}, expected ${info.outShape}.`);
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error('The wasm Conv2DBackpropFilter kernel supports only float32 tensors.');
  }
  if (batchSize === 0 || outHeight === 0 || outWidth === 0) {
    return makeZeroOutput(backend, filterShape, 'float32');
  }

  if (filterHeight === 1 && filterWidth === 1 && padInfo.top === 0 && padInfo.left === 0) {
    return pointwiseFilterGradient(backend, x, dy, info);
  }

  // Padding after the last row (column) that makes the output exactly filterHeight (filterWidth) large.
  const padBottom = filterHeight + (outHeight - 1) * strideHeight - inHeight - padInfo.top;
  const padRight = filterWidth + (outWidth - 1) * strideWidth - inWidth - padInfo.left;
  const usedHeight = inHeight + Math.min(padBottom, 0);
  const usedWidth = inWidth + Math.min(padRight, 0);

  const intermediates: tf.TensorInfo[] = [];
  let usedX = x;
  if (usedHeight < inHeight || usedWidth < inWidth) {
    usedX = backend.makeOutput([batchSize, usedHeight, usedWidth, inChannels], 'float32');
    intermediates.push(usedX);
    copyBox(
      wholeHeapOf(backend, 'float32'),
      heapIndexOf(backend, x),
      x.shape,
      [0, 0, 0, 0],
      usedX.shape,
      heapIndexOf(backend, usedX),
    );
  }

  const xTransposed = runWasmKernel('Transpose', backend, { x: usedX }, { perm: [3, 1, 2, 0] });
  const dyTransposed = runWasmKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  intermediates.push(xTransposed, dyTransposed);

  const padding: ExplicitPadding = [
    [0, 0],
    [padInfo.top, Math.max(padBottom, 0)],
    [padInfo.left, Math.max(padRight, 0)],
    [0, 0],
  ];
  // [inChannels, filterHeight, filterWidth, outChannels]
  const gradient = runConv2D(backend, xTransposed, dyTransposed, padding, [strideHeight, strideWidth]);
  intermediates.push(gradient);
  const expectedShape = [inChannels, filterHeight, filterWidth, outChannels];
  if (!tf.util.arraysEqual(gradient.shape, expectedShape)) {
    disposeIntermediates(backend, ...intermediates);
    throw new Error(`Conv2DBackpropFilter: internal shape ${gradient.shape}, expected ${expectedShape}.`);
  }

  const filterGradient = runWasmKernel('Transpose', backend, { x: gradient }, { perm: [1, 2, 0, 3] });
  disposeIntermediates(backend, ...intermediates);
  return filterGradient;
}

/**
 * Computes the gradient of an unpadded 1x1 filter: dW [1, 1, inChannels, outChannels] = xᵀ dy, with x
 * [positions, inChannels] the input pixels that the forward pass read (every stride-th row and column)
 * and dy [positions, outChannels]. As a matrix product it runs several times faster than as a
 * convolution with a filter as large as dy.
 */
function pointwiseFilterGradient(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth } =
    info;
  const positions = batchSize * outHeight * outWidth;

  let sampled: tf.TensorInfo = { dataId: x.dataId, shape: [positions, inChannels], dtype: 'float32' };
  const intermediates: tf.TensorInfo[] = [];
  if (strideHeight !== 1 || strideWidth !== 1 || outHeight !== inHeight || outWidth !== inWidth) {
    sampled = backend.makeOutput([positions, inChannels], 'float32');
    intermediates.push(sampled);
    const heap = wholeHeapOf(backend, 'float32');
    const sourceStart = heapIndexOf(backend, x);
    let target = heapIndexOf(backend, sampled);
    for (let n = 0; n < batchSize; n++) {
      for (let i = 0; i < outHeight; i++) {
        const sourceRow = sourceStart + (n * inHeight + i * strideHeight) * inWidth * inChannels;
        for (let j = 0; j < outWidth; j++) {
          const source = sourceRow + j * strideWidth * inChannels;
          heap.copyWithin(target, source, source + inChannels);
          target += inChannels;
        }
      }
    }
  }

  const flatDy: tf.TensorInfo = { dataId: dy.dataId, shape: [positions, outChannels], dtype: 'float32' };
  const gradient = batchMatMulConfig.kernelFunc({
    inputs: { a: sampled, b: flatDy },
    backend,
    attrs: { transposeA: true, transposeB: false },
  }) as tf.TensorInfo;
  disposeIntermediates(backend, ...intermediates);
  // A fresh output of the product, so its shape can be set in place.
  gradient.shape = [1, 1, inChannels, outChannels];
  return gradient;
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
