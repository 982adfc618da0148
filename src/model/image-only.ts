/**
 * The image-only baseline (the rows "WRN16-4" and "ResNet18-TL" of TandemNet's results): the backbone,
 * global average pooling of V, dropout and a linear classifier. It reads no report, so the text settings
 * of the model config (text, attention, skipConnection, textDropRate, scaleTextAtTest) do not apply.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.ts';
import type { Random } from '../random.ts';
import { backboneBuildContext, buildBackbone, type Backbone } from './backbone.ts';
import { dropout, Linear, partContext, type ForwardContext } from './layers.ts';
import type { Model, ModelBuildOptions, ModelInputs, ModelOutputs, ModelShape } from './model.ts';
import { ParameterStore } from './parameters.ts';

export class ImageOnlyNet implements Model {
  readonly store: ParameterStore;
  readonly backbone: Backbone;
  readonly readsText = false;
  private readonly classifier: Linear;

  constructor(
    readonly config: ModelConfig,
    readonly shape: ModelShape,
    random: Random,
    options: ModelBuildOptions = {},
  ) {
    this.store = new ParameterStore(random.fork('initialisation'));
    this.backbone = buildBackbone(config.backbone, this.store, backboneBuildContext(options.configDir));
    this.classifier = new Linear(this.store, 'classifier', 'classifier', this.backbone.channels, shape.classes);
  }

  /**
   * Classifies `inputs.images` and ignores any text. Average pooling weighs every position equally, so
   * `imageWeights` is 1 / G at each position and `textWeights` is zero.
   */
  apply(inputs: ModelInputs, context: ForwardContext): ModelOutputs {
    const batchSize = inputs.images.shape[0];
    const featureMap = this.backbone.apply(inputs.images, context);
    const [, height, width] = featureMap.shape;
    const pooled = tf.mean(featureMap, [1, 2]) as tf.Tensor2D;
    const classifierContext = partContext(context, 'classifier');
    const logits = this.classifier.apply(dropout(pooled, this.config.classifierDropout, classifierContext)) as tf.Tensor2D;
    return {
      logits,
      classifierInput: pooled,
      imageWeights: tf.fill([batchSize, height * width], 1 / (height * width)) as tf.Tensor2D,
      textWeights: tf.zeros([batchSize, this.shape.sentences]),
    };
  }

  dispose(): void {
    this.store.dispose();
  }
}
