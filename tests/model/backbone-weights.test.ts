import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backboneBuildContext, type Backbone, type CheckpointTensor } from '../../src/model/backbone.ts';
import { loadBackboneWeights, WeightsFileError } from '../../src/model/backbone-weights.ts';
import { buildModel } from '../../src/model/model.ts';
import { ParameterStore } from '../../src/model/parameters.ts';
import { buildResNet18 } from '../../src/model/resnet18.ts';
import { parseSafetensors, readFloat32, SafetensorsError } from '../../src/model/safetensors.ts';
import { Random } from '../../src/random.ts';
import { tinyConfig } from '../helpers/tiny-data.ts';
import { encodeSafetensors, type TensorToWrite } from './safetensors-file.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

let folder: string;
before(() => {
  folder = mkdtempSync(path.join(tmpdir(), 'tandem-weights-'));
});
after(() => rmSync(folder, { recursive: true, force: true }));

/** Base width 2 instead of 64 keeps a whole ResNet-18 checkpoint under 100 KB. */
const SMALL_WIDTH = 2;

function smallResNet(): { store: ParameterStore; backbone: Backbone } {
  const store = new ParameterStore(new Random(1));
  const backbone = buildResNet18({ type: 'resnet18', weights: null }, store, backboneBuildContext(), SMALL_WIDTH);
  return { store, backbone };
}

/** Returns the tensor's shape in a PyTorch state dict. */
function torchShape(tensor: CheckpointTensor): number[] {
  const shape = tensor.variable.shape as number[];
  if (tensor.layout === 'vector') return shape;
  const [height, width, inChannels, outChannels] = shape;
  return [outChannels, inChannels, height, width];
}

/** Returns a value for element `index` of tensor number `tensorIndex`, distinct across the file and exact in float32. */
function checkpointValue(tensorIndex: number, index: number): number {
  return tensorIndex + (index % 64) / 64;
}

/** Returns values that keep activations finite: unit batch norms and small convolution weights. */
function moderateValue(name: string, _tensorIndex: number, index: number): number {
  if (name.endsWith('.weight') && !name.includes('bn') && !name.endsWith('downsample.1.weight')) return 0.1 * Math.sin(index);
  return name.endsWith('.weight') || name.endsWith('running_var') ? 1 : 0;
}

/**
 * Builds every tensor of a torchvision ResNet-18 state dict, including the ones the loader skips, with
 * element `index` of tensor number `tensorIndex` set to `value(name, tensorIndex, index)`.
 */
function checkpointFor(
  backbone: Backbone,
  dtype: 'F32' | 'F16' | 'BF16' = 'F32',
  value: (name: string, tensorIndex: number, index: number) => number = (_, tensorIndex, index) => checkpointValue(tensorIndex, index),
): TensorToWrite[] {
  const tensors: TensorToWrite[] = backbone.checkpointTensors!().map((tensor, tensorIndex) => {
    const shape = torchShape(tensor);
    const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(tensor.name, tensorIndex, i));
    return { name: tensor.name, dtype, shape, values };
  });
  const bnNames = [...new Set(tensors.map((t) => t.name.match(/^(.*)\.running_mean$/)?.[1]).filter((name) => name !== undefined))];
  for (const name of bnNames) tensors.push({ name: `${name}.num_batches_tracked`, dtype: 'I64', shape: [], values: [1000] });
  tensors.push({ name: 'fc.weight', dtype, shape: [1000, 8 * SMALL_WIDTH] });
  tensors.push({ name: 'fc.bias', dtype, shape: [1000] });
  return tensors;
}

function writeCheckpoint(name: string, tensors: TensorToWrite[]): string {
  const file = path.join(folder, name);
  writeFileSync(file, encodeSafetensors(tensors, { format: 'pt' }));
  return file;
}

function loadError(backbone: Backbone, file: string): WeightsFileError {
  try {
    loadBackboneWeights(backbone, file, 'model.backbone.weights');
  } catch (error) {
    assert.ok(error instanceof WeightsFileError, `unexpected error: ${error}`);
    return error;
  }
  assert.fail('loading succeeded');
}

describe('backbone weights', () => {
  test('known weights land in place', () => {
    const { store, backbone } = smallResNet();
    const tensors = checkpointFor(backbone);
    const conv1 = tensors.find((t) => t.name === 'conv1.weight')!;
    // PyTorch layout out x in x height x width = 2 x 3 x 7 x 7; element [1, 2, 3, 4] gets a marker value.
    (conv1.values as Float32Array)[((1 * 3 + 2) * 7 + 3) * 7 + 4] = -42.5;
    loadBackboneWeights(backbone, writeCheckpoint('full.safetensors', tensors), 'model.backbone.weights');

    const byName = new Map(backbone.checkpointTensors!().map((tensor) => [tensor.name, tensor.variable]));
    const kernel = byName.get('conv1.weight')!.arraySync() as number[][][][];
    assert.equal(kernel[3][4][2][1], -42.5, 'conv1.weight[1, 2, 3, 4] lands at height 3, width 4, in 2, out 1');
    assert.equal(kernel[0][0][0][0], checkpointValue(0, 0));

    const names = backbone.checkpointTensors!().map((tensor) => tensor.name);
    for (const suffix of ['weight', 'bias', 'running_mean', 'running_var']) {
      const name = `layer2.0.downsample.1.${suffix}`;
      const expected = Array.from({ length: 2 * SMALL_WIDTH }, (_, i) => checkpointValue(names.indexOf(name), i));
      assert.deepEqual(Array.from(byName.get(name)!.dataSync()), expected, name);
    }
    const downsample = byName.get('layer3.0.downsample.0.weight')!.arraySync() as number[][][][];
    const downsampleIndex = names.indexOf('layer3.0.downsample.0.weight');
    // [out 5, in 3, 0, 0] is element 5 * 4 + 3 of the 8 x 4 x 1 x 1 PyTorch tensor.
    assert.equal(downsample[0][0][3][5], checkpointValue(downsampleIndex, 5 * 4 + 3));
    store.dispose();
  });

  test('evaluation uses the loaded running statistics', () => {
    const { store, backbone } = smallResNet();
    const tensors = checkpointFor(backbone, 'F32', moderateValue);
    const shifted = tensors.map((tensor) =>
      tensor.name === 'layer4.1.bn2.running_mean' ? { ...tensor, values: new Float32Array(16).fill(1e4) } : tensor,
    );
    const images = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const context = { training: false, random: new Random(0) };
    loadBackboneWeights(backbone, writeCheckpoint('plain.safetensors', tensors), 'model.backbone.weights');
    const plain = backbone.apply(images, context).dataSync();
    loadBackboneWeights(backbone, writeCheckpoint('shifted.safetensors', shifted), 'model.backbone.weights');
    const withShiftedMean = backbone.apply(images, context).dataSync();
    assert.ok(plain.every(Number.isFinite) && plain.some((v) => v > 0), 'the unshifted output is finite and not all zero');
    // A running mean of 1e4 before the last ReLU pushes every value of the last block to zero.
    assert.ok(withShiftedMean.every((v) => v === 0), 'the shifted running mean is used');
    store.dispose();
  });

  test('F16 and BF16 files load', () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const { store, backbone } = smallResNet();
      // Values exact in both formats.
      const tensors = checkpointFor(backbone, dtype, (name, _, index) => (name === 'layer1.1.bn1.running_var' ? [0.75, -2.5][index] : 0.5));
      loadBackboneWeights(backbone, writeCheckpoint(`${dtype}.safetensors`, tensors), 'model.backbone.weights');
      const variable = backbone.checkpointTensors!().find((tensor) => tensor.name === 'layer1.1.bn1.running_var')!.variable;
      assert.deepEqual(Array.from(variable.dataSync()), [0.75, -2.5], dtype);
      store.dispose();
    }
  });

  test('missing, extra and misshapen tensors are named', () => {
    const { store, backbone } = smallResNet();
    const tensors = checkpointFor(backbone)
      .filter((tensor) => tensor.name !== 'layer4.1.bn2.running_var' && tensor.name !== 'layer1.0.conv2.weight')
      .map((tensor) => (tensor.name === 'conv1.weight' ? { ...tensor, shape: [2, 3, 3, 3], values: undefined } : tensor));
    tensors.push({ name: 'head.weight', dtype: 'F32', shape: [2] });
    const message = loadError(backbone, writeCheckpoint('broken.safetensors', tensors)).message;
    assert.match(message, /\(model\.backbone\.weights\) does not fit the backbone/);
    assert.match(message, /missing tensors: layer1\.0\.conv2\.weight \[2, 2, 3, 3\]; layer4\.1\.bn2\.running_var \[16\]/);
    assert.match(message, /unexpected tensors: head\.weight\n/);
    assert.match(message, /tensors of the wrong shape: conv1\.weight is \[2, 3, 3, 3\], expected \[2, 3, 7, 7\]/);
    store.dispose();
  });

  test('unsupported dtype is named', () => {
    const { store, backbone } = smallResNet();
    const tensors = checkpointFor(backbone).map((tensor) =>
      tensor.name === 'bn1.running_mean' ? { ...tensor, dtype: 'I64' as const, values: [0, 0] } : tensor,
    );
    const message = loadError(backbone, writeCheckpoint('int.safetensors', tensors)).message;
    assert.match(message, /tensors of an unsupported dtype \(supported: F32, F16, BF16\): bn1\.running_mean is I64/);
    store.dispose();
  });

  test('wrapped model prefix gets a hint', () => {
    const { store, backbone } = smallResNet();
    const tensors = checkpointFor(backbone).map((tensor) => ({ ...tensor, name: `module.${tensor.name}` }));
    const message = loadError(backbone, writeCheckpoint('wrapped.safetensors', tensors)).message;
    assert.match(message, /the names start with "module\."; save the state dict without that prefix/);
    store.dispose();
  });

  test('missing file names the path and setting', () => {
    const { store, backbone } = smallResNet();
    const file = path.join(folder, 'absent.safetensors');
    assert.equal(loadError(backbone, file).message, `The weights file ${file} (model.backbone.weights) was not found.`);
    store.dispose();
  });

  test('model resolves weights against the config folder', () => {
    const config = tinyConfig({ model: { backbone: { type: 'resnet18', weights: 'weights/resnet18.safetensors' } } });
    const build = () => buildModel(config.model, { vocabularySize: 10, classes: 3, sentences: 3 }, new Random(1), { configDir: folder });
    assert.throws(build, (error: Error) => {
      assert.ok(error instanceof WeightsFileError);
      assert.equal(
        error.message,
        `The weights file ${path.join(folder, 'weights', 'resnet18.safetensors')} (model.backbone.weights) was not found.`,
      );
      return true;
    });
  });
});

describe('safetensors reader', () => {
  test('reads header, metadata and values', () => {
    const bytes = encodeSafetensors(
      [
        { name: 'a', dtype: 'F32', shape: [2, 2], values: [1, -2, 0.5, 3] },
        { name: 'b', dtype: 'F16', shape: [3], values: [0.5, -1.25, 65504] },
        { name: 'c', dtype: 'BF16', shape: [1], values: [-3.5] },
      ],
      { format: 'pt' },
    );
    const file = parseSafetensors(bytes);
    assert.deepEqual(file.metadata, { format: 'pt' });
    assert.deepEqual([...file.tensors.keys()], ['a', 'b', 'c']);
    assert.deepEqual(Array.from(readFloat32(file, file.tensors.get('a')!)), [1, -2, 0.5, 3]);
    assert.deepEqual(Array.from(readFloat32(file, file.tensors.get('b')!)), [0.5, -1.25, 65504]);
    assert.deepEqual(Array.from(readFloat32(file, file.tensors.get('c')!)), [-3.5]);
  });

  test('rejects malformed files', () => {
    const valid = encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], values: [1, 2] }]);
    const cases: [string, Uint8Array, RegExp][] = [
      ['too short', new Uint8Array(4), /fewer than the 8-byte header length/],
      ['truncated data', valid.subarray(0, valid.length - 1), /lie outside the 7 data bytes/],
      ['header past the end', (() => {
        const copy = valid.slice();
        new DataView(copy.buffer).setBigUint64(0, 1000n, true);
        return copy;
      })(), /header length 1000 exceeds/],
      ['size mismatch', encodeSafetensors([{ name: 'a', dtype: 'F32', shape: [3], raw: new Uint8Array(8) }]), /8 data bytes do not match shape \[3\] of F32/],
    ];
    for (const [id, bytes, expected] of cases) {
      assert.throws(() => parseSafetensors(bytes), (error: Error) => error instanceof SafetensorsError && expected.test(error.message), id);
    }
  });
});
