import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/select.ts';
import { wasmTrainingKernelsRegistered } from '../../src/backend/wasm-kernels.ts';
import { TandemError } from '../../src/errors.ts';

const require = createRequire(import.meta.url);

function isInstalled(packageName: string): boolean {
  try {
    require.resolve(`${packageName}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** An import hook that behaves as if only the given packages were installed, each running its setup. */
function fakePackages(installed: Record<string, () => void>): (specifier: string) => Promise<unknown> {
  return async (specifier) => {
    const setup = installed[specifier];
    if (setup == null) {
      throw Object.assign(new Error(`Cannot find package '${specifier}' imported from select.ts`), {
        code: 'ERR_MODULE_NOT_FOUND',
      });
    }
    setup();
    return {};
  };
}

/** Registers a 'tensorflow' backend whose initialisation throws, like tfjs-node without libtensorflow. */
function registerBrokenTensorflow(): void {
  tf.registerBackend('tensorflow', () => {
    throw new Error('libtensorflow.so.2: cannot open shared object file');
  });
}

// Runs first, before any other test initialises the cpu backend, whose first tensor triggers the notice.
test('selection prints nothing', async (t) => {
  const printed: string[] = [];
  const record = (...args: unknown[]) => {
    printed.push(args.map(String).join(' '));
  };
  t.mock.method(console, 'warn', record);
  t.mock.method(console, 'log', record);
  t.mock.method(console, 'info', record);
  t.mock.method(console, 'error', record);

  const info = await selectBackend('cpu');
  tf.tidy(() => tf.tensor1d([1, 2, 3]).square().dataSync());
  await selectBackend('wasm');
  tf.tidy(() => tf.tensor1d([1, 2, 3]).square().dataSync());

  assert.equal(info.name, 'cpu');
  assert.deepEqual(printed, []);
});

test('cpu selection warns that it is slow', async () => {
  const info = await selectBackend('cpu');
  assert.equal(info.tfjsBackend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.ok(info.warnings.some((warning) => /slower than wasm/.test(warning)), info.warnings.join('\n'));
  assert.equal(info.deterministic, true);
});

test('wasm selection activates wasm', async () => {
  // With `blas: auto` and OpenBLAS installed, OpenBLAS kernels replace some project kernels (blas-kernels.test.ts).
  const info = await selectBackend('wasm', { blas: 'off' });
  assert.equal(info.name, 'wasm');
  assert.equal(info.tfjsBackend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(tf.engine().backendName, 'wasm');
  assert.equal(info.versions.tfjs, tf.version.tfjs);
  assert.equal(info.versions['tfjs-backend-wasm'], '4.22.0');
  assert.equal(info.deterministic, true);
  assert.ok(info.note.length > 0);
  assert.deepEqual(info.warnings, []);
  assert.ok(wasmTrainingKernelsRegistered(), 'the project kernels are not registered');

  const product = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 3]), false, true).dataSync());
  assert.deepEqual(Array.from(product), new Array(8).fill(3));
});

test('wasm runs single-threaded', async () => {
  await selectBackend('wasm');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  assert.equal(wasm.getThreadsCount(), 1);
  assert.equal(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'), false);
});

test('missing tfjs-node raises TandemError', async (t) => {
  if (isInstalled('@tensorflow/tfjs-node')) {
    t.skip('@tensorflow/tfjs-node is installed here');
    return;
  }
  await assert.rejects(selectBackend('tensorflow'), (error: unknown) => {
    assert.ok(error instanceof TandemError, `expected a TandemError, got ${String(error)}`);
    assert.match(error.message, /Backend tensorflow is not available/);
    assert.match(error.message, /@tensorflow\/tfjs-node is not installed/);
    assert.match(error.message, /npm install @tensorflow\/tfjs-node@4\.22\.0/);
    assert.match(error.message, /backend: wasm/);
    return true;
  });
});

test('missing GPU raises TandemError', async () => {
  await assert.rejects(selectBackend('tensorflow-gpu', { hasGpu: () => false }), (error: unknown) => {
    assert.ok(error instanceof TandemError);
    assert.match(error.message, /no NVIDIA GPU was found/);
    assert.match(error.message, /backend: tensorflow/);
    return true;
  });
});

test('missing tfjs-node-gpu raises TandemError', async () => {
  const options = { hasGpu: () => true, importPackage: fakePackages({}) };
  await assert.rejects(selectBackend('tensorflow-gpu', options), (error: unknown) => {
    assert.ok(error instanceof TandemError);
    assert.match(error.message, /@tensorflow\/tfjs-node-gpu is not installed/);
    assert.match(error.message, /npm install @tensorflow\/tfjs-node-gpu@4\.22\.0/);
    return true;
  });
});

test('auto picks wasm without node packages', async () => {
  const info = await selectBackend('auto', { hasGpu: () => true, importPackage: fakePackages({}) });
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(info.warnings, []);
});

test('failed initialisation raises TandemError', async (t) => {
  t.after(() => tf.removeBackend('tensorflow'));
  const options = { importPackage: fakePackages({ '@tensorflow/tfjs-node': registerBrokenTensorflow }) };
  await assert.rejects(selectBackend('tensorflow', options), (error: unknown) => {
    assert.ok(error instanceof TandemError);
    assert.match(error.message, /Backend tensorflow failed to initialise/);
    assert.match(error.message, /libtensorflow\.so\.2: cannot open shared object file/);
    return true;
  });
});

test('auto falls back past a broken backend', async (t) => {
  t.after(() => tf.removeBackend('tensorflow'));
  const options = {
    hasGpu: () => false,
    importPackage: fakePackages({ '@tensorflow/tfjs-node': registerBrokenTensorflow }),
  };
  const info = await selectBackend('auto', options);
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(info.warnings.length, 1);
  assert.match(info.warnings[0], /Backend tensorflow failed to initialise: .*cannot open shared object file/);
  assert.match(info.warnings[0], /`backend: auto` moved on to the next backend/);
});

test('auto prefers an installed tfjs-node', async (t) => {
  t.after(() => tf.removeBackend('tensorflow'));
  // A stand-in for the libtensorflow backend: a second instance of the cpu backend class.
  const cpuBackend = tf.findBackend('cpu') ?? (await selectBackend('cpu'), tf.findBackend('cpu'));
  const CpuBackend = (cpuBackend as object).constructor as new () => tf.KernelBackend;
  const options = {
    hasGpu: () => false,
    importPackage: fakePackages({
      '@tensorflow/tfjs-node': () => tf.registerBackend('tensorflow', () => new CpuBackend()),
    }),
  };
  const info = await selectBackend('auto', options);
  assert.equal(info.name, 'tensorflow');
  assert.equal(info.tfjsBackend, 'tensorflow');
  assert.equal(tf.getBackend(), 'tensorflow');
  assert.equal(info.deterministic, false);
  await selectBackend('wasm');
});
