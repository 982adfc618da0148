/**
 * ResNet-18 (He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016) in the
 * layout of torchvision's `resnet18`. The stem is a 7x7 stride-2 convolution with 64 channels, batch norm,
 * ReLU and a 3x3 stride-2 max pool. Four stages of two basic blocks follow, with 64, 128, 256 and 512
 * channels at strides 1, 2, 2 and 2. V is the output of the last stage, before average pooling: 7 x 7 x
 * 512 at 224 x 224 input, total stride 32. The backbone has 11,176,512 parameters, because torchvision's
 * classifier layer `fc` is not part of it.
 *
 * Parameter names follow torchvision's state dict (`layer2.0.downsample.0.weight`), so that a checkpoint
 * maps onto them by name; see `CheckpointTensor`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Backbone, BackboneBuildContext, CheckpointTensor, ResNet18BackboneConfig } from './backbone.ts';
import { loadBackboneWeights } from './backbone-weights.ts';
import { BatchNorm, Conv2d, partContext, type ForwardContext } from './layers.ts';
import type { ParameterStore } from './parameters.ts';

/** Channels of the stem and of the four stages at the standard width. */
const STANDARD_BASE_WIDTH = 64;

/**
 * Per-channel standard deviation of ImageNet's RGB pixels in [0, 1], by which torchvision's pretrained
 * ResNets expect their input to be divided (torchvision's `ImageNet1K_V1` transforms). The backbone
 * divides by it with or without pretrained weights, so that the two start from the same input scale.
 */
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Returns the store's parameter name for a torchvision ResNet-18 layer name such as `layer1.0.conv1`. */
function storeName(layer: string): string {
  return `backbone.${layer}`;
}

/** A convolution and the batch norm after it, with torchvision's names and PyTorch's padding. */
class ConvNorm {
  readonly conv: Conv2d;
  readonly norm: BatchNorm;

  constructor(
    store: ParameterStore,
    readonly convName: string,
    readonly normName: string,
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    stride: number,
  ) {
    // torchvision initialises ResNet convolutions with kaiming_normal_(mode='fan_out').
    this.conv = new Conv2d(store, storeName(convName), 'cnn', inChannels, outChannels, kernelSize, stride, {
      padding: 'symmetric',
      fanMode: 'out',
    });
    this.norm = new BatchNorm(store, storeName(normName), 'cnn', outChannels);
  }

  apply(x: tf.Tensor4D, context: ForwardContext): tf.Tensor4D {
    return this.norm.apply(this.conv.apply(x), context);
  }

  /** Returns the checkpoint tensors of this convolution and batch norm, with their torchvision names. */
  checkpointTensors(): CheckpointTensor[] {
    return [
      { name: `${this.convName}.weight`, variable: this.conv.weight, layout: 'conv-oihw' },
      { name: `${this.normName}.weight`, variable: this.norm.scale, layout: 'vector' },
      { name: `${this.normName}.bias`, variable: this.norm.offset, layout: 'vector' },
      { name: `${this.normName}.running_mean`, variable: this.norm.runningMean, layout: 'vector' },
      { name: `${this.normName}.running_var`, variable: this.norm.runningVariance, layout: 'vector' },
    ];
  }
}

/** conv3x3(stride)-BN-ReLU-conv3x3-BN, plus the input or a 1x1 strided convolution and BN, then ReLU. */
class BasicBlock {
  private readonly first: ConvNorm;
  private readonly second: ConvNorm;
  private readonly downsample: ConvNorm | null;

  constructor(store: ParameterStore, name: string, inChannels: number, outChannels: number, stride: number) {
    this.first = new ConvNorm(store, `${name}.conv1`, `${name}.bn1`, inChannels, outChannels, 3, stride);
    this.second = new ConvNorm(store, `${name}.conv2`, `${name}.bn2`, outChannels, outChannels, 3, 1);
    const needsProjection = inChannels !== outChannels || stride !== 1;
    this.downsample = needsProjection
      ? new ConvNorm(store, `${name}.downsample.0`, `${name}.downsample.1`, inChannels, outChannels, 1, stride)
      : null;
  }

  apply(x: tf.Tensor4D, context: ForwardContext): tf.Tensor4D {
    const y = this.second.apply(tf.relu(this.first.apply(x, context)), context);
    const shortcut = this.downsample ? this.downsample.apply(x, context) : x;
    return tf.relu(tf.add(y, shortcut) as tf.Tensor4D);
  }

  checkpointTensors(): CheckpointTensor[] {
    return [
      ...this.first.checkpointTensors(),
      ...this.second.checkpointTensors(),
      ...(this.downsample?.checkpointTensors() ?? []),
    ];
  }
}

/**
 * Build ResNet-18 and, when `config.weights` names a file, load its weights (see backbone-weights.ts).
 * `baseWidth` scales every layer's channels and exists for tests, which need small weights files; the
 * standard ResNet-18 has 64.
 */
export function buildResNet18(
  config: ResNet18BackboneConfig,
  store: ParameterStore,
  context: BackboneBuildContext,
  baseWidth = STANDARD_BASE_WIDTH,
): Backbone {
  const stem = new ConvNorm(store, 'conv1', 'bn1', 3, baseWidth, 7, 2);
  const blocks: BasicBlock[] = [];
  let inChannels = baseWidth;
  for (let stage = 0; stage < 4; stage++) {
    const width = baseWidth * 2 ** stage;
    for (let block = 0; block < 2; block++) {
      const stride = block === 0 && stage > 0 ? 2 : 1;
      blocks.push(new BasicBlock(store, `layer${stage + 1}.${block}`, inChannels, width, stride));
      inChannels = width;
    }
  }
  const backbone: Backbone = {
    channels: inChannels,
    totalStride: 32,
    apply(images, forwardContext) {
      const local = partContext(forwardContext, 'cnn');
      let x = tf.mul(images, tf.tensor1d(IMAGENET_STD.map((std) => 1 / std))) as tf.Tensor4D;
      x = tf.relu(stem.apply(x, local));
      // One pixel of padding on every side, as PyTorch's MaxPool2d(3, 2, padding=1); tfjs skips the
      // padded positions, as PyTorch's padding with -inf does.
      x = tf.maxPool(x, 3, 2, 1);
      for (const block of blocks) x = block.apply(x, local);
      return x;
    },
    checkpointTensors() {
      return [...stem.checkpointTensors(), ...blocks.flatMap((block) => block.checkpointTensors())];
    },
  };
  if (config.weights !== null) loadBackboneWeights(backbone, context.resolvePath(config.weights), 'model.backbone.weights');
  return backbone;
}
