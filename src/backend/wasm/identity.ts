/**
 * Identity and same-type Cast for the wasm backend that share the input's data instead of copying it.
 * The stock kernels of @tensorflow/tfjs-backend-wasm 4.22.0 copy, and the gradients of tf.relu
 * (cast(step(x), 'float32')), of tf.cast and of summed gradients call them hundreds of times per training
 * step. Sharing is what the wasm Reshape kernel and the cpu backend's Identity already do. It relies on
 * kernels never writing into their inputs, which the project's kernels respect.
 */
import * as tf from '@tensorflow/tfjs';
import { type KernelArguments, type WasmBackend } from './heap.ts';
import { runStockKernel } from './stock-kernels.ts';

/** Returns a tensor of x's shape and type on x's data, counted by the backend's reference count. */
function share(backend: WasmBackend, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

/** Identity: x itself. String tensors, stored outside the heap, go to the stock kernel. */
function identity(args: KernelArguments): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return runStockKernel(tf.Identity, args);
  return share(args.backend as WasmBackend, x);
}

/** Cast: x converted to attrs.dtype; a cast to x's own type returns x itself. */
function cast(args: KernelArguments): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = (args.attrs ?? {}) as unknown as tf.CastAttrs;
  if (dtype !== x.dtype || x.dtype === 'string') return runStockKernel(tf.Cast, args);
  return share(args.backend as WasmBackend, x);
}

export const identityConfig: tf.KernelConfig = { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identity };
export const castConfig: tf.KernelConfig = { kernelName: tf.Cast, backendName: 'wasm', kernelFunc: cast };
