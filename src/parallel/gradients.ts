/**
 * The gradient of one shard of a training batch, computed on the active tfjs backend in the thread that
 * owns the model: the same forward pass, loss and differentiated variables as the trainer's own step,
 * with the result copied out of the backend so that it can cross to another thread.
 */
import * as tf from '@tensorflow/tfjs';
import type { ExperimentConfig } from '../config/schema.ts';
import type { Batch } from '../data/index.ts';
import { disposeModelInputs, toModelInputs } from '../model/inputs.ts';
import type { Model } from '../model/model.ts';
import { MODEL_PARTS, type ModelPart, type ParameterStore } from '../model/parameters.ts';
import { Random } from '../random.ts';
import { unpackFloat32 } from './protocol.ts';

/** The names (ParameterStore names) of the values a sharded step reads, differentiates and updates. */
export interface ShardLayout {
  /** Every parameter and buffer of the model, in ParameterStore.named() order. */
  names: string[];
  /** Element count of each entry of `names`. */
  sizes: number[];
  /** The trainable parameters of the parts that are trained, in the trainer's order. */
  trained: string[];
  /** The buffers (batch norm running statistics) of the parts that are not frozen. */
  buffers: string[];
  /** Parts that run in evaluation mode and are not updated. */
  frozenParts: ModelPart[];
}

/**
 * Lists what a step differentiates and updates, by the rule of the trainer: every part that is not
 * frozen and has parameters is trained, part by part in MODEL_PARTS order.
 */
export function describeShardLayout(model: Model, config: ExperimentConfig): ShardLayout {
  const named = model.store.named();
  const nameOf = new Map(named.map(([name, variable]) => [variable, name]));
  const frozenParts = MODEL_PARTS.filter((part) => config.train.parts[part].frozen);
  const trained = MODEL_PARTS.filter((part) => !config.train.parts[part].frozen).flatMap((part) =>
    model.store.trainable(part).map((variable) => nameOf.get(variable)!),
  );
  const trainable = new Set(model.store.trainable());
  const buffers = named
    .filter(([, variable]) => !trainable.has(variable) && !frozenParts.includes(model.store.partOf(variable)))
    .map(([name]) => name);
  return {
    names: named.map(([name]) => name),
    sizes: named.map(([, variable]) => variable.size),
    trained,
    buffers,
    frozenParts,
  };
}

/** Returns the variables of `store` by their ParameterStore names. */
export function variablesByName(store: ParameterStore): Map<string, tf.Variable> {
  return new Map(store.named());
}

/**
 * Returns the random stream of shard `shardIndex` in a step whose seed is `stepSeed`. It depends only
 * on the seed and the shard's index in the batch, not on the worker that computes it, so the same shard
 * plan gives the same dropout masks with any number of workers.
 */
export function shardRandom(stepSeed: number, shardIndex: number): Random {
  return new Random(stepSeed).fork(`shard ${shardIndex}`);
}

/** The outcome of one shard. */
export interface ShardGradients {
  /** Mean cross-entropy over the shard's samples. */
  loss: number;
  /** Predicted class of each sample. */
  predictions: Int32Array;
  /**
   * Gradient of the shard's mean loss for each entry of ShardLayout.trained, zero where it has none:
   * consecutive views into one buffer, packedGradients.
   */
  gradients: Float32Array[];
  packedGradients: Float32Array;
  /** Each entry of ShardLayout.buffers after this shard's forward pass, as views into packedBuffers. */
  buffers: Float32Array[];
  packedBuffers: Float32Array;
}

/** Options of computeShardGradients besides the model and the shard. */
export interface ShardStepOptions {
  layout: ShardLayout;
  /** The model's variables by name, from variablesByName. */
  variables: Map<string, tf.Variable>;
  /** Whether the shard reads its reports (false when the step's text is dropped). */
  withText: boolean;
  /** N, data.maxSentences. */
  sentences: number;
  /** The shard's dropout stream, from shardRandom. */
  random: Random;
}

/**
 * Runs the forward and backward pass of the model's training step on one shard: softmax cross-entropy
 * averaged over the shard, differentiated for every trained parameter. The batch norm running statistics
 * move as in any training step; the caller resets them between shards of the same step.
 */
export function computeShardGradients(model: Model, shard: Batch, options: ShardStepOptions): ShardGradients {
  const { layout, variables, withText, sentences, random } = options;
  const trained = layout.trained.map((name) => variableNamed(variables, name));
  const inputs = toModelInputs(shard, sentences, withText && model.readsText, 1);
  const context = { training: true, random, frozenParts: new Set(layout.frozenParts) };
  const classes = model.shape.classes;
  let predictionTensor: tf.Tensor | null = null;

  let loss = 0;
  const packedGradients = new Float32Array(trained.reduce((sum, variable) => sum + variable.size, 0));
  // The results are stored from inside the tidy rather than returned from it, because tf.tidy walks
  // every key of a returned object looking for tensors, which takes seconds for large typed arrays.
  tf.tidy(() => {
    const labels = tf.oneHot(tf.tensor1d(shard.labels, 'int32'), classes);
    const { value, grads } = tf.variableGrads(() => {
      const outputs = model.apply(inputs, context);
      predictionTensor = tf.keep(tf.argMax(outputs.logits, 1));
      return tf.losses.softmaxCrossEntropy(labels, outputs.logits) as tf.Scalar;
    }, trained);
    loss = value.dataSync()[0];
    let offset = 0;
    for (const variable of trained) {
      const gradient = grads[variable.name];
      if (gradient !== undefined) packedGradients.set(gradient.dataSync() as Float32Array, offset);
      offset += variable.size;
    }
  });
  disposeModelInputs(inputs);

  const predicted = predictionTensor as tf.Tensor | null;
  const predictions = predicted === null ? new Int32Array(shard.size) : Int32Array.from(predicted.dataSync());
  predicted?.dispose();
  const packedBuffers = packValues(variables, layout.buffers);
  const gradients = unpackFloat32(packedGradients, trained.map((variable) => variable.size));
  const buffers = unpackFloat32(packedBuffers, layout.buffers.map((name) => variableNamed(variables, name).size));
  return { loss, predictions, gradients, packedGradients, buffers, packedBuffers };
}

/** Writes `values` (one array per name) into the variables of those names. */
export function assignValues(variables: Map<string, tf.Variable>, names: readonly string[], values: readonly Float32Array[]): void {
  tf.tidy(() => {
    names.forEach((name, index) => {
      const variable = variableNamed(variables, name);
      if (values[index].length !== variable.size) {
        throw new Error(`Value for ${name} has ${values[index].length} elements, the variable has ${variable.size}.`);
      }
      // assign gives the variable new data, so that kernels which cache work per tensor (XNNPACK's packed
      // weights) never see stale values.
      variable.assign(tf.tensor(values[index], variable.shape, 'float32'));
    });
  });
}

/** Copies the values of the variables named `names` out of the backend into one array, end to end. */
export function packValues(variables: Map<string, tf.Variable>, names: readonly string[]): Float32Array {
  const named = names.map((name) => variableNamed(variables, name));
  const packed = new Float32Array(named.reduce((sum, variable) => sum + variable.size, 0));
  let offset = 0;
  for (const variable of named) {
    packed.set(variable.dataSync() as Float32Array, offset);
    offset += variable.size;
  }
  return packed;
}

/** Copies the values of the variables named `names` out of the backend. */
export function readValues(variables: Map<string, tf.Variable>, names: readonly string[]): Float32Array[] {
  return names.map((name) => copyFloat32(variableNamed(variables, name).dataSync()));
}

function variableNamed(variables: Map<string, tf.Variable>, name: string): tf.Variable {
  const variable = variables.get(name);
  if (variable === undefined) throw new Error(`The model has no parameter or buffer named ${name}.`);
  return variable;
}

/** Copies tensor data into a Float32Array of its own; the cpu backend's dataSync returns its storage. */
function copyFloat32(values: tf.TypedArray): Float32Array {
  return values instanceof Float32Array ? values.slice() : Float32Array.from(values);
}
