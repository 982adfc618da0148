/**
 * The contract shared by every model type and the registry that maps `model.type` to its builder: a
 * TandemNet, or an image-only baseline made of the same backbone and a linear classifier.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.ts';
import type { Random } from '../random.ts';
import type { Backbone } from './backbone.ts';
import { ImageOnlyNet } from './image-only.ts';
import type { ForwardContext } from './layers.ts';
import type { ParameterStore } from './parameters.ts';
import { TandemNet } from './tandem-net.ts';
import type { TextInputs } from './text-encoder.ts';

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
  /** Classifier input before dropout: B x M for TandemNet (c + mean(V′), or c), B x C for image-only. */
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

/** A classifier of images, with or without their reports. */
export interface Model {
  readonly config: ModelConfig;
  readonly shape: ModelShape;
  readonly store: ParameterStore;
  readonly backbone: Backbone;
  /** False for a model that never reads the report; testing it with text is then not applicable. */
  readonly readsText: boolean;
  apply(inputs: ModelInputs, context: ForwardContext): ModelOutputs;
  dispose(): void;
}

export interface ModelBuildOptions {
  /** Folder of the config file, against which paths in the model config resolve; default the working directory. */
  configDir?: string;
}

type ModelBuilder = (config: ModelConfig, shape: ModelShape, random: Random, options: ModelBuildOptions) => Model;

export const MODELS: Record<ModelConfig['type'], ModelBuilder> = {
  tandem: (config, shape, random, options) => new TandemNet(config, shape, random, options),
  'image-only': (config, shape, random, options) => new ImageOnlyNet(config, shape, random, options),
};

/** Build the model named by `config.type`; an unknown type lists the known ones. */
export function buildModel(config: ModelConfig, shape: ModelShape, random: Random, options: ModelBuildOptions = {}): Model {
  const builder = MODELS[config.type];
  if (!builder) throw new Error(`Unknown model type "${config.type}". Known types: ${Object.keys(MODELS).join(', ')}.`);
  return builder(config, shape, random, options);
}
