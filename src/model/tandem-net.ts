/**
 * TandemNet: the backbone gives V, the language model gives S, the dual attention gives the context c,
 * and a linear classifier reads c + mean(V′) (or c alone without the visual skip-connection).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.ts';
import type { Random } from '../random.ts';
import { buildBackbone, type Backbone } from './backbone.ts';
import { DualAttention } from './dual-attention.ts';
import { dropout, Linear, type ForwardContext } from './layers.ts';
import { ParameterStore } from './parameters.ts';
import { TextEncoder, type TextInputs } from './text-encoder.ts';

export interface ModelInputs {
  /** B x H x W x 3, mean-subtracted. */
  images: tf.Tensor4D;
  /** The reports, or null to classify without text (S = 0). */
  text: TextInputs | null;
  /** B x N, 1 where a sentence is present. Ignored without text. */
  sentenceMask: tf.Tensor2D | null;
  /** Factor applied to S, (1 - r) when testing with text and scaling is on, else 1. */
  textScale: number;
}

/** The named outputs that training and analysis read. */
export interface ModelOutputs {
  /** B x classes, before softmax. */
  logits: tf.Tensor2D;
  /** Classifier input before dropout, c + mean(V′) or c: B x M. */
  classifierInput: tf.Tensor2D;
  /** B x G image attention weights, G = feature-map positions in row-major order. */
  imageWeights: tf.Tensor2D;
  /** B x N sentence attention weights. */
  textWeights: tf.Tensor2D;
}

export interface ModelShape {
  vocabularySize: number;
  classes: number;
  /** N: sentence slots per report. */
  sentences: number;
}

export class TandemNet {
  readonly store: ParameterStore;
  readonly backbone: Backbone;
  readonly textEncoder: TextEncoder;
  readonly attention: DualAttention;
  private readonly classifier: Linear;

  constructor(
    readonly config: ModelConfig,
    readonly shape: ModelShape,
    random: Random,
  ) {
    this.store = new ParameterStore(random.fork('initialisation'));
    this.backbone = buildBackbone(config.backbone, this.store);
    this.textEncoder = new TextEncoder(config.text, shape.vocabularySize, this.store);
    this.attention = new DualAttention(config.attention, this.backbone.channels, config.text.hiddenSize, this.store);
    this.classifier = new Linear(this.store, 'classifier', 'classifier', config.attention.size, shape.classes);
  }

  apply(inputs: ModelInputs, context: ForwardContext): ModelOutputs {
    const batchSize = inputs.images.shape[0];
    const featureMap = this.backbone.apply(inputs.images, context);
    const [, height, width, channels] = featureMap.shape;
    const image = tf.reshape(featureMap, [batchSize, height * width, channels]) as tf.Tensor3D;

    let text: tf.Tensor3D;
    let sentenceMask: tf.Tensor2D;
    if (inputs.text) {
      text = this.textEncoder.apply(inputs.text, context);
      if (inputs.textScale !== 1) text = tf.mul(text, inputs.textScale);
      sentenceMask = inputs.sentenceMask ?? tf.ones([batchSize, this.shape.sentences]);
    } else {
      // Without text every slot holds S = 0, as in training mini-batches whose text was dropped.
      text = tf.zeros([batchSize, this.shape.sentences, this.config.text.hiddenSize]);
      sentenceMask = tf.ones([batchSize, this.shape.sentences]);
    }

    const attended = this.attention.apply(image, text, sentenceMask, context);
    const classifierInput = this.config.skipConnection ? tf.add(attended.context, attended.meanImage) : attended.context;
    const logits = this.classifier.apply(dropout(classifierInput, this.config.classifierDropout, context)) as tf.Tensor2D;
    return {
      logits,
      classifierInput: classifierInput as tf.Tensor2D,
      imageWeights: attended.imageWeights,
      textWeights: attended.textWeights,
    };
  }

  dispose(): void {
    this.store.dispose();
  }
}
