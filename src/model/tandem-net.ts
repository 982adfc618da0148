/**
 * TandemNet: the backbone gives V, the language model gives S, the dual attention gives the context c,
 * and a linear classifier reads c + mean(V′) (or c alone without the visual skip-connection).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.ts';
import type { Random } from '../random.ts';
import { backboneBuildContext, buildBackbone, type Backbone } from './backbone.ts';
import { DualAttention } from './dual-attention.ts';
import { dropout, Linear, partContext, type ForwardContext } from './layers.ts';
import type { Model, ModelBuildOptions, ModelInputs, ModelOutputs, ModelShape } from './model.ts';
import { ParameterStore } from './parameters.ts';
import { TextEncoder } from './text-encoder.ts';

export class TandemNet implements Model {
  readonly store: ParameterStore;
  readonly backbone: Backbone;
  readonly readsText = true;
  readonly textEncoder: TextEncoder;
  readonly attention: DualAttention;
  private readonly classifier: Linear;

  constructor(
    readonly config: ModelConfig,
    readonly shape: ModelShape,
    random: Random,
    options: ModelBuildOptions = {},
  ) {
    this.store = new ParameterStore(random.fork('initialisation'));
    this.backbone = buildBackbone(config.backbone, this.store, backboneBuildContext(options.configDir));
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
      // Without text every slot is S = 0, as in training mini-batches whose text was dropped.
      text = tf.zeros([batchSize, this.shape.sentences, this.config.text.hiddenSize]);
      sentenceMask = tf.ones([batchSize, this.shape.sentences]);
    }

    const attended = this.attention.apply(image, text, sentenceMask, context);
    const classifierInput = this.config.skipConnection ? tf.add(attended.context, attended.meanImage) : attended.context;
    const classifierContext = partContext(context, 'classifier');
    const logits = this.classifier.apply(dropout(classifierInput, this.config.classifierDropout, classifierContext)) as tf.Tensor2D;
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
