/**
 * Shared parts of the convolution gradient kernels for the wasm backend, which are built from the
 * backend's XNNPACK Conv2D and its Transpose kernel. Only NHWC data and dilation 1 are supported, as in
 * tf.conv2d's own gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { type WasmBackend, runWasmKernel } from './heap.ts';

type Conv2DInfo = tf.backend_util.Conv2DInfo;
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** Computes the convolution geometry of a gradient kernel and rejects layouts the kernels do not handle. */
export function computeConvolutionInfo(
  kernelName: string,
  inputShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: tf.NamedAttrMap,
): Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (info.dataFormat !== 'channelsLast') {
    throw new Error(`The wasm ${kernelName} kernel supports only dataFormat NHWC, got ${dataFormat}.`);
  }
  return info;
}

/** Runs the stock wasm Conv2D (XNNPACK) with explicit padding. */
export function runConv2D(
  backend: WasmBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  padding: ExplicitPadding,
  dilations: [number, number],
): tf.TensorInfo {
  const attrs = { strides: [1, 1], pad: padding, dataFormat: 'NHWC', dilations, dimRoundingMode: undefined };
  return runWasmKernel('Conv2D', backend, { x, filter }, attrs as unknown as tf.NamedAttrMap);
}

