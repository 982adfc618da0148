/**
 * Times the convolution kernels of the wasm backend at WRN16-4's layer shapes, with XNNPACK (the
 * project's kernels of wasm-kernels.ts) and with the OpenBLAS kernels of wasm-blas-kernels.ts, in this
 * thread. Prints, per shape and library, the milliseconds and GFLOP/s of Conv2D, Conv2DBackpropInput and
 * Conv2DBackpropFilter, each the mean of 5 calls after one untimed call.
 *
 *   node --import tsx scripts/bench/conv-kernels.ts [--threads 1]
 *
 * --threads sets the OpenBLAS threads (default 1). Without OpenBLAS it prints why and exits with 1.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadNativeBlas } from '../../src/backend/native-blas.ts';
import { registerBlasKernels, unregisterBlasKernels } from '../../src/backend/wasm-blas-kernels.ts';
import { registerWasmTrainingKernels } from '../../src/backend/wasm-kernels.ts';

const { values: options } = parseArgs({ options: { threads: { type: 'string', default: '1' } } });

/** Input shape, filter shape and stride: WRN16-4's convolutions at 64 pixels and batch 32, and at 224 pixels and batch 8. */
const SHAPES: [[number, number, number, number], [number, number, number, number], number][] = [
  [[32, 16, 16, 64], [3, 3, 64, 64], 1],
  [[32, 16, 16, 64], [3, 3, 64, 128], 2],
  [[32, 8, 8, 128], [3, 3, 128, 128], 1],
  [[32, 4, 4, 256], [3, 3, 256, 256], 1],
  [[32, 16, 16, 64], [1, 1, 64, 128], 2],
  [[8, 56, 56, 64], [3, 3, 64, 64], 1],
  [[8, 14, 14, 256], [3, 3, 256, 256], 1],
];

/** Returns the mean milliseconds of 5 calls of `run` after an untimed one. */
function time(run: () => void): number {
  run();
  const started = performance.now();
  for (let i = 0; i < 5; i++) run();
  return (performance.now() - started) / 5;
}

async function main(): Promise<void> {
  const status = loadNativeBlas(Number(options.threads));
  if (!status.available) {
    process.stderr.write(`OpenBLAS is not available: ${status.reason}\n`);
    process.exitCode = 1;
    return;
  }
  registerWasmTrainingKernels();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  status.blas.setThreads(Number(options.threads));

  for (const [inputShape, filterShape, stride] of SHAPES) {
    const x = tf.randomNormal(inputShape) as tf.Tensor4D;
    const filter = tf.randomNormal(filterShape) as tf.Tensor4D;
    const y = tf.conv2d(x, filter, stride, 'same');
    const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
    const gflop = (2 * y.size * filterShape[0] * filterShape[1] * filterShape[2]) / 1e9;
    const attrs = { strides: stride, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    const columns: string[] = [];
    for (const library of ['XNNPACK', 'OpenBLAS']) {
      if (library === 'OpenBLAS') registerBlasKernels(status.blas);
      else unregisterBlasKernels();
      const timings = [
        time(() => tf.conv2d(x, filter, stride, 'same').dispose()),
        time(() => tf.conv2dTranspose(dy, filter, inputShape, stride, 'same').dispose()),
        time(() =>
          (
            tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor
          ).dispose(),
        ),
      ];
      const rates = timings.map((ms) => `${ms.toFixed(1)} ms ${(gflop / (ms / 1000)).toFixed(0)} GFLOP/s`);
      columns.push(`${library}: forward ${rates[0]}, input gradient ${rates[1]}, filter gradient ${rates[2]}`);
    }
    process.stdout.write(`x ${inputShape} filter ${filterShape} stride ${stride}\n  ${columns.join('\n  ')}\n`);
    tf.dispose([x, filter, y, dy]);
  }
}

await main();
