/**
 * Kernels of the wasm backend that run their matrix products in OpenBLAS (see native-blas.ts): Conv2D,
 * Conv2DBackpropInput, Conv2DBackpropFilter and BatchMatMul. A case that they do not cover (another
 * data format, a dilation, fewer than 16 channels, a dtype other than float32) runs the kernel that
 * they replaced: XNNPACK's Conv2D or the project's kernels of wasm-kernels.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeBlas } from './native-blas.ts';
import { batchMatMulConfig } from './wasm/batch-mat-mul.ts';
import {
  convolveWithBlas,
  filterGradientWithBlas,
  inputGradientWithBlas,
  blasGeometryOf,
} from './wasm/blas-convolution.ts';
import { batchMatMulWithBlas } from './wasm/blas-mat-mul.ts';
import { conv2DBackpropFilterConfig } from './wasm/conv2d-backprop-filter.ts';
import { conv2DBackpropInputConfig } from './wasm/conv2d-backprop-input.ts';
import type { KernelArguments, WasmBackend } from './wasm/heap.ts';
import { rememberStockKernel, runStockKernel, stockKernelOf } from './wasm/stock-kernels.ts';

type Conv2DInfo = tf.backend_util.Conv2DInfo;

/** Computes the geometry of a convolution kernel call from its attributes. */
function convolutionInfo(
  inputShape: number[],
  filterShape: number[],
  attrs: tf.NamedAttrMap,
  dilations: number | [number, number] = 1,
): Conv2DInfo {
  const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DAttrs;
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
}

function isFloat32(...infos: tf.TensorInfo[]): boolean {
  return infos.every((info) => info.dtype === 'float32');
}

/** Builds the kernel configs that run on `blas`, each falling back to the kernel it replaces. */
function createBlasKernelConfigs(blas: NativeBlas): tf.KernelConfig[] {
  const conv2D = (args: KernelArguments): tf.TensorInfo => {
    const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const { dilations } = args.attrs as unknown as tf.Conv2DAttrs;
    const geometry = isFloat32(x, filter) ? blasGeometryOf(convolutionInfo(x.shape, filter.shape, args.attrs ?? {}, dilations)) : null;
    if (geometry == null) return runStockKernel(tf.Conv2D, args);
    return convolveWithBlas(blas, args.backend as WasmBackend, geometry, x, filter);
  };

  const conv2DBackpropInput = (args: KernelArguments): tf.TensorInfo => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const info = convolutionInfo(inputShape, filter.shape, args.attrs ?? {});
    const geometry = isFloat32(dy, filter) && tf.util.arraysEqual(dy.shape, info.outShape) ? blasGeometryOf(info) : null;
    if (geometry == null) return conv2DBackpropInputConfig.kernelFunc(args) as tf.TensorInfo;
    return inputGradientWithBlas(blas, args.backend as WasmBackend, geometry, dy, filter);
  };

  const conv2DBackpropFilter = (args: KernelArguments): tf.TensorInfo => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const info = convolutionInfo(x.shape, filterShape, args.attrs ?? {});
    const geometry = isFloat32(x, dy) && tf.util.arraysEqual(dy.shape, info.outShape) ? blasGeometryOf(info) : null;
    if (geometry == null) return conv2DBackpropFilterConfig.kernelFunc(args) as tf.TensorInfo;
    return filterGradientWithBlas(blas, args.backend as WasmBackend, geometry, x, dy);
  };

  const batchMatMul = (args: KernelArguments): tf.TensorInfo =>
    batchMatMulWithBlas(blas, args) ?? (batchMatMulConfig.kernelFunc(args) as tf.TensorInfo);

  return [
    { kernelName: tf.Conv2D, backendName: 'wasm', kernelFunc: conv2D },
    { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc: conv2DBackpropInput },
    { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2DBackpropFilter },
    { kernelName: tf.BatchMatMul, backendName: 'wasm', kernelFunc: batchMatMul },
  ];
}

/** The OpenBLAS kernels in the registry, and the library they call. */
let active: { blas: NativeBlas; configs: tf.KernelConfig[] } | null = null;

/**
 * Registers the OpenBLAS kernels for the wasm backend in tfjs's kernel registry. Call it after
 * registerWasmTrainingKernels, whose kernels are their fallbacks. Calling it again with the same library
 * changes nothing.
 */
export function registerBlasKernels(blas: NativeBlas): void {
  if (active?.blas === blas && blasKernelsRegistered()) return;
  unregisterBlasKernels();
  const configs = createBlasKernelConfigs(blas);
  for (const config of configs) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current != null) {
      // Only the first config per name is kept, so this records XNNPACK's Conv2D, never a replacement.
      rememberStockKernel(current);
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
  active = { blas, configs };
}

/** Returns the library of the registered OpenBLAS kernels, or null when they are not registered. */
export function registeredBlas(): NativeBlas | null {
  return blasKernelsRegistered() ? (active?.blas ?? null) : null;
}

/** Returns whether the OpenBLAS kernels are the ones registered for the wasm backend. */
export function blasKernelsRegistered(): boolean {
  if (active == null) return false;
  return active.configs.every((config) => tf.getKernel(config.kernelName, 'wasm')?.kernelFunc === config.kernelFunc);
}

/**
 * Puts back the kernels that the OpenBLAS kernels replaced: XNNPACK's Conv2D and the project's
 * gradient and BatchMatMul kernels. Meant for tests and for runs that turn the library off.
 */
export function unregisterBlasKernels(): void {
  if (active == null) return;
  const registry = (tf.engine() as unknown as { registry: Record<string, object | undefined> }).registry;
  const backend = registry['wasm'];
  const replaced: Record<string, tf.KernelConfig | undefined> = {
    [tf.Conv2D]: stockKernelOf(tf.Conv2D),
    [tf.Conv2DBackpropInput]: conv2DBackpropInputConfig,
    [tf.Conv2DBackpropFilter]: conv2DBackpropFilterConfig,
    [tf.BatchMatMul]: batchMatMulConfig,
  };
  for (const config of active.configs) {
    if (tf.getKernel(config.kernelName, 'wasm')?.kernelFunc !== config.kernelFunc) continue;
    tf.unregisterKernel(config.kernelName, 'wasm');
    const previous = replaced[config.kernelName];
    if (previous == null) continue;
    tf.registerKernel(previous);
    // XNNPACK's Conv2D binds its C++ function in its setup function, which tfjs runs only at initialisation.
    if (backend != null && previous.setupFunc != null) previous.setupFunc(backend);
  }
  active = null;
}
