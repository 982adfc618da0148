/**
 * The image backbone contract and the registry that maps a config's `backbone.type` to its builder.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config/schema.ts';
import type { ForwardContext } from './layers.ts';
import type { ParameterStore } from './parameters.ts';
import { buildWrn } from './wrn.ts';

/** A CNN that maps images to the feature map V. */
export interface Backbone {
  /** C: channels of the feature map. */
  readonly channels: number;
  /** Input pixels per feature-map position along each axis. */
  readonly totalStride: number;
  /** images: B x H x W x 3 -> V: B x ceil(H / totalStride) x ceil(W / totalStride) x C. */
  apply(images: tf.Tensor4D, context: ForwardContext): tf.Tensor4D;
}

export type BackboneBuilder = (config: ModelConfig['backbone'], store: ParameterStore) => Backbone;

export const BACKBONES: Record<ModelConfig['backbone']['type'], BackboneBuilder> = {
  wrn: buildWrn,
};

/** Build the backbone named by `config.type`; an unknown type lists the known ones. */
export function buildBackbone(config: ModelConfig['backbone'], store: ParameterStore): Backbone {
  const builder = BACKBONES[config.type];
  if (!builder) {
    throw new Error(`Unknown backbone type "${config.type}". Known types: ${Object.keys(BACKBONES).join(', ')}.`);
  }
  return builder(config, store);
}
