import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { backboneBuildContext } from '../../src/model/backbone.ts';
import { Conv2d } from '../../src/model/layers.ts';
import { ParameterStore } from '../../src/model/parameters.ts';
import { buildResNet18 } from '../../src/model/resnet18.ts';
import { Random } from '../../src/random.ts';

before(async () => {
  tf.enableProdMode();
  await tf.setBackend('cpu');
});

const evaluation = { training: false, random: new Random(0) };
const fromScratch = { type: 'resnet18', weights: null } as const;

/** PyTorch's Conv2d(padding=p, bias=False) on one H x W x C image, written out: weight is out x in x k x k. */
function referenceConv(image: number[][][], weight: number[][][][], stride: number, padding: number): number[][][] {
  const [height, width] = [image.length, image[0].length];
  const kernel = weight[0][0].length;
  const outHeight = Math.floor((height + 2 * padding - kernel) / stride) + 1;
  const outWidth = Math.floor((width + 2 * padding - kernel) / stride) + 1;
  const output: number[][][] = [];
  for (let y = 0; y < outHeight; y++) {
    output.push([]);
    for (let x = 0; x < outWidth; x++) {
      output[y].push(
        weight.map((filter) => {
          let sum = 0;
          for (let i = 0; i < kernel; i++) {
            for (let j = 0; j < kernel; j++) {
              const [row, column] = [y * stride + i - padding, x * stride + j - padding];
              if (row < 0 || row >= height || column < 0 || column >= width) continue;
              filter.forEach((channel, c) => (sum += channel[i][j] * image[row][column][c]));
            }
          }
          return sum;
        }),
      );
    }
  }
  return output;
}

describe('ResNet-18 backbone', () => {
  test('has 11.2M parameters', () => {
    const store = new ParameterStore(new Random(1));
    buildResNet18(fromScratch, store, backboneBuildContext());
    const { byPart } = store.countParameters();
    assert.ok(Math.abs(byPart.cnn - 11.2e6) <= 0.1e6, `ResNet-18 has ${byPart.cnn} parameters`);
    assert.equal(byPart.cnn, 11_176_512);
    store.dispose();
  });

  test('feature map is 1/32 of the input with 512 channels', () => {
    const store = new ParameterStore(new Random(1));
    const backbone = buildResNet18(fromScratch, store, backboneBuildContext());
    assert.equal(backbone.channels, 512);
    assert.equal(backbone.totalStride, 32);
    for (const [height, width, expected] of [
      [64, 64, [2, 2]],
      [96, 40, [3, 2]],
      [33, 65, [2, 3]],
    ] as const) {
      const output = backbone.apply(tf.zeros([1, height, width, 3]), evaluation);
      assert.deepEqual(output.shape, [1, ...expected, 512], `${height} x ${width}`);
      output.dispose();
    }
    store.dispose();
  });

  test('checkpoint tensors carry torchvision names and shapes', () => {
    const store = new ParameterStore(new Random(1));
    const backbone = buildResNet18(fromScratch, store, backboneBuildContext());
    const tensors = backbone.checkpointTensors!();
    // 20 convolutions and 20 batch norms of 4 tensors each.
    assert.equal(tensors.length, 100);
    const byName = new Map(tensors.map((tensor) => [tensor.name, tensor]));
    assert.deepEqual(byName.get('conv1.weight')?.variable.shape, [7, 7, 3, 64]);
    assert.deepEqual(byName.get('layer3.0.downsample.0.weight')?.variable.shape, [1, 1, 128, 256]);
    assert.deepEqual(byName.get('layer4.1.bn2.running_var')?.variable.shape, [512]);
    assert.equal(byName.get('layer2.0.downsample.1.bias')?.layout, 'vector');
    assert.equal(byName.has('layer1.0.downsample.0.weight'), false);
    assert.equal(byName.has('fc.weight'), false);
    store.dispose();
  });
});

describe('symmetric convolution padding', () => {
  test('matches PyTorch alignment for stride 2', () => {
    const store = new ParameterStore(new Random(2));
    const random = new Random(3);
    for (const [kernel, size] of [
      [3, 6],
      [7, 8],
      [3, 7],
    ]) {
      const conv = new Conv2d(store, `conv${kernel}x${size}`, 'cnn', 2, 3, kernel, 2, { padding: 'symmetric' });
      const image = Array.from({ length: size }, () => Array.from({ length: size }, () => [random.normal(), random.normal()]));
      const hwio = conv.weight.arraySync() as number[][][][];
      const oihw = [0, 1, 2].map((o) => [0, 1].map((i) => hwio.map((row) => row.map((column) => column[i][o]))));
      const expected = referenceConv(image, oihw, 2, (kernel - 1) / 2);
      const actual = (conv.apply(tf.tensor4d([image])).arraySync() as number[][][][])[0];
      assert.equal(actual.length, expected.length);
      actual.flat(2).forEach((value, i) => {
        assert.ok(Math.abs(value - expected.flat(2)[i]) < 1e-4, `kernel ${kernel}, size ${size}, value ${i}`);
      });
    }
    store.dispose();
  });
});
