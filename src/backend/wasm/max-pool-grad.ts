/**
 * MaxPoolGrad for the wasm backend. The C++ kernel of @tensorflow/tfjs-backend-wasm 4.22.0 starts each
 * window's running maximum at the smallest positive float instead of minus infinity, so a window whose
 * values are all <= 0 gets no gradient at all. This JavaScript kernel reads the heap directly and routes
 * each dy element to the first maximum of its window in row-major order, as the cpu backend does.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArguments, type WasmBackend, float32Heap, makeZeroOutput } from './heap.ts';

/**
 * MaxPoolGrad: dy [batch, outHeight, outWidth, channels] and the pooling input x [batch, inHeight,
 * inWidth, channels] give dx of x's shape. NaN never counts as a maximum, and a window that lies wholly
 * in the padding passes no gradient.
 */
function maxPoolGrad({ inputs, backend: kernelBackend, attrs = {} }: KernelArguments): tf.TensorInfo {
  const backend = kernelBackend as WasmBackend;
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  if (dy.dtype !== 'float32' || input.dtype !== 'float32') {
    throw new Error('The wasm MaxPoolGrad kernel supports only float32 tensors.');
  }
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  if (!tf.util.arraysEqual(dy.shape, info.outShape)) {
    throw new Error(`MaxPoolGrad: dy has shape ${dy.shape}, expected ${info.outShape}.`);
  }
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const { strideHeight, strideWidth, effectiveFilterHeight, effectiveFilterWidth, dilationHeight, dilationWidth } =
    info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;

  const output = makeZeroOutput(backend, input.shape, 'float32');
  const x = float32Heap(backend, input);
  const dyValues = float32Heap(backend, dy);
  const dx = float32Heap(backend, output);

  const maxima = new Float32Array(channels);
  const positions = new Int32Array(channels);
  for (let n = 0; n < batchSize; n++) {
    for (let outRow = 0; outRow < outHeight; outRow++) {
      const rowStart = outRow * strideHeight - top;
      const rowEnd = Math.min(inHeight, rowStart + effectiveFilterHeight);
      let firstRow = rowStart;
      while (firstRow < 0) firstRow += dilationHeight;

      for (let outColumn = 0; outColumn < outWidth; outColumn++) {
        const columnStart = outColumn * strideWidth - left;
        const columnEnd = Math.min(inWidth, columnStart + effectiveFilterWidth);
        let firstColumn = columnStart;
        while (firstColumn < 0) firstColumn += dilationWidth;

        maxima.fill(-Infinity);
        positions.fill(-1);
        for (let row = firstRow; row < rowEnd; row += dilationHeight) {
          for (let column = firstColumn; column < columnEnd; column += dilationWidth) {
            const pixel = ((n * inHeight + row) * inWidth + column) * channels;
            for (let channel = 0; channel < channels; channel++) {
              const value = x[pixel + channel];
              if (value > maxima[channel]) {
                maxima[channel] = value;
                positions[channel] = pixel + channel;
              }
            }
          }
        }

        const dyPixel = ((n * outHeight + outRow) * outWidth + outColumn) * channels;
        for (let channel = 0; channel < channels; channel++) {
          const position = positions[channel];
          if (position >= 0) dx[position] += dyValues[dyPixel + channel];
        }
      }
    }
  }
  return output;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
