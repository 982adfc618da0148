/**
 * Building blocks shared by the model components: convolution, batch normalisation, linear maps and
 * seeded dropout. Feature maps are NHWC (B x H x W x C) throughout.
 */
import * as tf from '@tensorflow/tfjs';
import type { Random } from '../random.ts';
import type { ModelPart, ParameterStore } from './parameters.ts';

/** Per-call state of a forward pass. */
export interface ForwardContext {
  /** Training mode: dropout on, batch norm uses and updates batch statistics. */
  training: boolean;
  /** Source of dropout seeds; only read in training mode. */
  random: Random;
  /**
   * Parts that run in evaluation mode even in training mode: no dropout, and batch norm normalises with
   * its running statistics and leaves them unchanged. Training does not update these parts.
   */
  frozenParts?: ReadonlySet<ModelPart>;
}

/** Returns the context for the layers of `part`: evaluation mode when the part is frozen, else `context`. */
export function partContext(context: ForwardContext, part: ModelPart): ForwardContext {
  return context.training && context.frozenParts?.has(part) ? { ...context, training: false } : context;
}

/** Dropout with a seed drawn from the context, so that masks repeat for the same run seed. */
export function dropout<T extends tf.Tensor>(x: T, rate: number, context: ForwardContext): T {
  if (!context.training || rate === 0) return x;
  return tf.dropout(x, rate, undefined, context.random.nextUint32()) as T;
}

/** Padding and initialisation settings of a convolution. */
export interface Conv2dOptions {
  /**
   * 'same': TensorFlow's SAME padding, which puts the odd pixel of padding after the input, so a stride-2
   * convolution of an even-sized input is aligned one pixel later than in PyTorch. 'symmetric':
   * (kernelSize - 1) / 2 pixels on every side, as PyTorch's `padding=(k - 1) // 2`, so that weights trained
   * in PyTorch see the pixels they were trained on. Default 'same'.
   */
  padding?: 'same' | 'symmetric';
  /** He initialisation from the fan-in (kernelSize² x in, the default) or the fan-out (kernelSize² x out). */
  fanMode?: 'in' | 'out';
}

/** A bias-free 2-D convolution with He-initialised weights (kernelSize x kernelSize x in x out). */
export class Conv2d {
  readonly weight: tf.Variable;
  private readonly padding: 'same' | number;

  constructor(
    store: ParameterStore,
    name: string,
    part: ModelPart,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly stride: number,
    options: Conv2dOptions = {},
  ) {
    const fan = kernelSize * kernelSize * (options.fanMode === 'out' ? outChannels : inChannels);
    this.weight = store.parameter(`${name}.weight`, [kernelSize, kernelSize, inChannels, outChannels], part, {
      kind: 'he-normal',
      fan,
    });
    this.padding = options.padding === 'symmetric' ? (kernelSize - 1) / 2 : 'same';
  }

  /** x: B x H x W x inChannels -> B x ceil(H / stride) x ceil(W / stride) x outChannels (odd kernel sizes). */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, this.padding);
  }
}

/**
 * Batch normalisation over B, H and W. Training mode normalises with the batch statistics and moves the
 * running statistics towards them (momentum 0.1, unbiased variance, as PyTorch does); evaluation mode
 * uses the running statistics.
 */
export class BatchNorm {
  readonly scale: tf.Variable;
  readonly offset: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVariance: tf.Variable;
  private readonly momentum = 0.1;
  private readonly epsilon = 1e-5;

  constructor(store: ParameterStore, name: string, part: ModelPart, channels: number) {
    this.scale = store.parameter(`${name}.scale`, [channels], part, { kind: 'constant', value: 1 });
    this.offset = store.parameter(`${name}.offset`, [channels], part, { kind: 'constant', value: 0 });
    this.runningMean = store.buffer(`${name}.runningMean`, [channels], part, 0);
    this.runningVariance = store.buffer(`${name}.runningVariance`, [channels], part, 1);
  }

  apply(x: tf.Tensor4D, context: ForwardContext): tf.Tensor4D {
    if (!context.training) {
      return tf.batchNorm4d(x, this.runningMean as tf.Tensor1D, this.runningVariance as tf.Tensor1D, this.offset as tf.Tensor1D, this.scale as tf.Tensor1D, this.epsilon);
    }
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const count = x.shape[0] * x.shape[1] * x.shape[2];
    // The running statistics are buffers outside the loss's graph, so no gradient reaches them.
    const unbiased = count > 1 ? count / (count - 1) : 1;
    const newMean = tf.tidy(() =>
      tf.add(tf.mul(this.runningMean, 1 - this.momentum), tf.mul(mean, this.momentum)),
    );
    const newVariance = tf.tidy(() =>
      tf.add(
        tf.mul(this.runningVariance, 1 - this.momentum),
        tf.mul(variance, this.momentum * unbiased),
      ),
    );
    this.runningMean.assign(newMean);
    this.runningVariance.assign(newVariance);
    const normalised = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.epsilon)));
    return tf.add(tf.mul(normalised, this.scale), this.offset);
  }
}

/** A fully connected map in -> out with PyTorch's default initialisation, U(-1/sqrt(in), 1/sqrt(in)). */
export class Linear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(store: ParameterStore, name: string, part: ModelPart, inFeatures: number, outFeatures: number, bias = true) {
    const limit = 1 / Math.sqrt(inFeatures);
    this.weight = store.parameter(`${name}.weight`, [inFeatures, outFeatures], part, { kind: 'uniform', limit });
    this.bias = bias ? store.parameter(`${name}.bias`, [outFeatures], part, { kind: 'uniform', limit }) : null;
  }

  /** x: ... x in -> ... x out; leading dimensions are flattened into one matrix product. */
  apply(x: tf.Tensor): tf.Tensor {
    const [inFeatures, outFeatures] = this.weight.shape as [number, number];
    const leading = x.shape.slice(0, -1);
    const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inFeatures]) as tf.Tensor2D;
    let y: tf.Tensor = tf.matMul(flat, this.weight as tf.Tensor2D);
    if (this.bias) y = tf.add(y, this.bias);
    return x.rank === 2 ? y : tf.reshape(y, [...leading, outFeatures]);
  }
}
