/**
 * Slice, SplitV and Unpack for the wasm backend. The stock Slice kernel of @tensorflow/tfjs-backend-wasm
 * 4.22.0 first copies the whole source tensor out of the wasm heap (backend.readSync) and then copies the
 * slice back in, so slicing a few rows of a large tensor costs a full copy. The stock SplitV and Unpack
 * (tf.split, tf.unstack) call that Slice once per output, so they copy the whole tensor once per output.
 * These kernels copy only the slices, heap to heap.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArguments, type WasmBackend, copyBox, heapIndexOf, wholeHeapOf } from './heap.ts';
import { runStockKernel, runStockKernelList } from './stock-kernels.ts';

/** Slice: x of any rank gives the box `begin`..`begin + size` (size -1 means up to the end). */
function slice(args: KernelArguments): tf.TensorInfo {
  const { inputs, backend: kernelBackend, attrs = {} } = args;
  const backend = kernelBackend as WasmBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  if (!isHeapType(x.dtype)) {
    // String tensors live outside the heap.
    return runStockKernel(tf.Slice, args);
  }
  const { begin, size } = attrs as unknown as tf.SliceAttrs;
  const [sliceBegin, sliceSize] = tf.slice_util.parseSliceParams(x, begin, size);
  tf.slice_util.assertParamsValid(x, sliceBegin, sliceSize);

  return copySlice(backend, x, sliceBegin, sliceSize, sliceSize);
}

/** Copies the box begin..begin + size of x into a new tensor of shape `outputShape` (same element count). */
function copySlice(
  backend: WasmBackend,
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
  outputShape: number[],
): tf.TensorInfo {
  const output = backend.makeOutput(outputShape, x.dtype);
  copyBox(wholeHeapOf(backend, x.dtype), heapIndexOf(backend, x), x.shape, begin, size, heapIndexOf(backend, output));
  return output;
}

function isHeapType(dtype: tf.DataType): boolean {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
}

/** SplitV: x split along attrs.axis into pieces of attrs.numOrSizeSplits (a count or sizes, one may be -1). */
function splitV(args: KernelArguments): tf.TensorInfo[] {
  const { inputs, backend: kernelBackend, attrs = {} } = args;
  const backend = kernelBackend as WasmBackend;
  const { x } = inputs as { x: tf.TensorInfo };
  if (!isHeapType(x.dtype)) return runStockKernelList(tf.SplitV, args);
  const { numOrSizeSplits, axis } = attrs as unknown as tf.SplitVAttrs;
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const splitSizes = tf.backend_util.prepareSplitSize(x, numOrSizeSplits, parsedAxis);

  const begin = new Array<number>(x.shape.length).fill(0);
  return splitSizes.map((splitSize) => {
    const size = x.shape.slice();
    size[parsedAxis] = splitSize;
    const piece = copySlice(backend, x, begin, size, size);
    begin[parsedAxis] += splitSize;
    return piece;
  });
}

/** Unpack: x [..., count, ...] along attrs.axis gives `count` tensors without that axis. */
function unpack(args: KernelArguments): tf.TensorInfo[] {
  const { inputs, backend: kernelBackend, attrs = {} } = args;
  const backend = kernelBackend as WasmBackend;
  const { value } = inputs as { value: tf.TensorInfo };
  if (!isHeapType(value.dtype)) return runStockKernelList(tf.Unpack, args);
  const rank = value.shape.length;
  let { axis } = attrs as unknown as tf.UnpackAttrs;
  if (axis < 0) axis += rank;

  const outputShape = value.shape.filter((_, index) => index !== axis);
  const size = value.shape.slice();
  size[axis] = 1;
  const begin = new Array<number>(rank).fill(0);
  const outputs: tf.TensorInfo[] = [];
  for (let i = 0; i < value.shape[axis]; i++) {
    begin[axis] = i;
    outputs.push(copySlice(backend, value, begin, size, outputShape));
  }
  return outputs;
}

export const sliceConfig: tf.KernelConfig = { kernelName: tf.Slice, backendName: 'wasm', kernelFunc: slice };

export const splitVConfig: tf.KernelConfig = { kernelName: tf.SplitV, backendName: 'wasm', kernelFunc: splitV };

export const unpackConfig: tf.KernelConfig = { kernelName: tf.Unpack, backendName: 'wasm', kernelFunc: unpack };
