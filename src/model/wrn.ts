/**
 * Pre-activation wide residual network WRN-d-k (Zagoruyko and Komodakis, "Wide Residual Networks", 2016)
 * in the form TandemNet uses: a 7x7 stride-4 stem with 16 channels, three stages of n = (d - 4) / 6 blocks
 * with 16k, 32k and 64k channels at strides 1, 2 and 2, and a final BN-ReLU. No convolution has a bias.
 * WRN16-4 has about 2.75M parameters; at 224x224 input its feature map is 14 x 14 x 256.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm, Conv2d, dropout, partContext, type ForwardContext } from './layers.ts';
import type { ParameterStore } from './parameters.ts';
import type { Backbone, WrnBackboneConfig } from './backbone.ts';

const STEM_CHANNELS = 16;
const STEM_STRIDE = 4;

/** BN-ReLU-conv3x3(stride)-BN-ReLU-dropout-conv3x3, plus an identity or 1x1 strided shortcut. */
class WideBlock {
  private readonly norm1: BatchNorm;
  private readonly conv1: Conv2d;
  private readonly norm2: BatchNorm;
  private readonly conv2: Conv2d;
  private readonly shortcut: Conv2d | null;

  constructor(
    store: ParameterStore,
    name: string,
    inChannels: number,
    outChannels: number,
    stride: number,
    private readonly dropRate: number,
  ) {
    this.norm1 = new BatchNorm(store, `${name}.norm1`, 'cnn', inChannels);
    this.conv1 = new Conv2d(store, `${name}.conv1`, 'cnn', inChannels, outChannels, 3, stride);
    this.norm2 = new BatchNorm(store, `${name}.norm2`, 'cnn', outChannels);
    this.conv2 = new Conv2d(store, `${name}.conv2`, 'cnn', outChannels, outChannels, 3, 1);
    const needsProjection = inChannels !== outChannels || stride !== 1;
    this.shortcut = needsProjection ? new Conv2d(store, `${name}.shortcut`, 'cnn', inChannels, outChannels, 1, stride) : null;
  }

  apply(x: tf.Tensor4D, context: ForwardContext): tf.Tensor4D {
    const activated = tf.relu(this.norm1.apply(x, context));
    let y = this.conv1.apply(activated);
    y = tf.relu(this.norm2.apply(y, context));
    y = dropout(y, this.dropRate, context);
    y = this.conv2.apply(y);
    // As in the reference WRN code, a projection shortcut reads the pre-activated input.
    const residual = this.shortcut ? this.shortcut.apply(activated) : x;
    return tf.add(y, residual);
  }
}

/** Build WRN-depth-widenFactor from the backbone settings. */
export function buildWrn(config: WrnBackboneConfig, store: ParameterStore): Backbone {
  const blocksPerStage = (config.depth - 4) / 6;
  if (!Number.isInteger(blocksPerStage) || blocksPerStage < 1) {
    throw new Error(`WRN depth must be 6n + 4 with n >= 1; got ${config.depth}.`);
  }
  const widths = [16, 32, 64].map((w) => w * config.widenFactor);
  const stem = new Conv2d(store, 'backbone.stem', 'cnn', 3, STEM_CHANNELS, 7, STEM_STRIDE);
  const blocks: WideBlock[] = [];
  let inChannels = STEM_CHANNELS;
  widths.forEach((width, stage) => {
    for (let block = 0; block < blocksPerStage; block++) {
      const stride = block === 0 && stage > 0 ? 2 : 1;
      const name = `backbone.stage${stage + 1}.block${block + 1}`;
      blocks.push(new WideBlock(store, name, inChannels, width, stride, config.dropout));
      inChannels = width;
    }
  });
  const finalNorm = new BatchNorm(store, 'backbone.finalNorm', 'cnn', inChannels);

  return {
    channels: inChannels,
    totalStride: STEM_STRIDE * 2 * 2,
    apply(images, forwardContext) {
      const context = partContext(forwardContext, 'cnn');
      let x = stem.apply(images);
      for (const block of blocks) x = block.apply(x, context);
      return tf.relu(finalNorm.apply(x, context));
    },
  };
}
