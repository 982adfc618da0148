/**
 * The image backbone contract and the registry that maps a config's `backbone.type` to its builder.
 */
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.ts';
import type { ForwardContext } from './layers.ts';
import type { ParameterStore } from './parameters.ts';
import { buildResNet18 } from './resnet18.ts';
import { buildWrn } from './wrn.ts';

export type BackboneConfig = ModelConfig['backbone'];
export type BackboneType = BackboneConfig['type'];
export type WrnBackboneConfig = Extract<BackboneConfig, { type: 'wrn' }>;
export type ResNet18BackboneConfig = Extract<BackboneConfig, { type: 'resnet18' }>;

/**
 * A tensor of a PyTorch checkpoint and the variable it initialises. `conv-oihw`: a convolution weight,
 * stored out x in x height x width in the checkpoint and height x width x in x out in tfjs. `vector`: a
 * 1-D tensor copied as it is.
 */
export interface CheckpointTensor {
  /** Name in the checkpoint's state dict, such as `layer1.0.bn1.running_mean`. */
  name: string;
  variable: tf.Variable;
  layout: 'conv-oihw' | 'vector';
}

/** A CNN that maps images to the feature map V. */
export interface Backbone {
  /** C: channels of the feature map. */
  readonly channels: number;
  /** Input pixels per feature-map position along each axis. */
  readonly totalStride: number;
  /** images: B x H x W x 3 -> V: B x ceil(H / totalStride) x ceil(W / totalStride) x C. */
  apply(images: tf.Tensor4D, context: ForwardContext): tf.Tensor4D;
  /** The variables that a pretrained checkpoint initialises, by checkpoint name; absent when none can. */
  checkpointTensors?(): CheckpointTensor[];
}

/** Inputs of a backbone builder besides its config section. */
export interface BackboneBuildContext {
  /** Turns a path written in the config (such as `weights`) into an absolute path. */
  resolvePath(configPath: string): string;
}

/** Paths relative to `configDir`, the folder of the config file; the working directory when absent. */
export function backboneBuildContext(configDir?: string): BackboneBuildContext {
  return { resolvePath: (configPath) => path.resolve(configDir ?? process.cwd(), configPath) };
}

type BackboneBuilder<T extends BackboneType> = (
  config: Extract<BackboneConfig, { type: T }>,
  store: ParameterStore,
  context: BackboneBuildContext,
) => Backbone;

export const BACKBONES: { [T in BackboneType]: BackboneBuilder<T> } = {
  wrn: (config, store) => buildWrn(config, store),
  resnet18: (config, store, context) => buildResNet18(config, store, context),
};

/** Build the backbone named by `config.type`; an unknown type lists the known ones. */
export function buildBackbone(config: BackboneConfig, store: ParameterStore, context: BackboneBuildContext): Backbone {
  const builder = BACKBONES[config.type] as BackboneBuilder<BackboneType> | undefined;
  if (!builder) {
    throw new Error(`Unknown backbone type "${config.type}". Known types: ${Object.keys(BACKBONES).join(', ')}.`);
  }
  return builder(config, store, context);
}
