/**
 * Cross-field checks: rules that involve more than one config value, so the schema cannot state them.
 * Each check is a small named function from the resolved config to its findings.
 */
import type { ExperimentConfig } from './schema.ts';

/** A problem found by a cross-field check, before it is located in the file. */
export interface CheckFinding {
  /** Path segments of the value to point at, such as ['data', 'resizeTo']. */
  path: string[];
  message: string;
  found?: string;
  allowed?: string;
  fix?: string;
  severity: 'error' | 'warning';
}

/** A cross-field check and the config paths it reads. */
export interface CrossFieldCheck {
  name: string;
  /**
   * Dotted paths the check reads. The loader skips the check when the schema already reported a problem
   * at or around one of them, because then the value may have the wrong type.
   */
  inputs: readonly string[];
  run: (config: ExperimentConfig) => CheckFinding[];
}

/**
 * Total stride of each backbone: input side divided by feature map side.
 * NOTE: must match src/model/wrn.ts, whose WRN has a stride-4 stem and three stages at strides 1, 2 and 2.
 */
export const BACKBONE_TOTAL_STRIDE: Record<ExperimentConfig['model']['backbone']['type'], number> = { wrn: 16 };

/** Rejects a resizeTo below imageSize, because each image is resized to `resizeTo` and then cropped to `imageSize`. */
export function checkResizeToCoversImageSize(config: ExperimentConfig): CheckFinding[] {
  const { resizeTo, imageSize } = config.data;
  if (resizeTo >= imageSize) return [];
  const suggestedResizeTo = Math.ceil((imageSize * 9) / 8);
  return [
    {
      path: ['data', 'resizeTo'],
      message: `must be at least data.imageSize (${imageSize}), the side of the crop taken from the resized image`,
      found: `resizeTo ${resizeTo}, imageSize ${imageSize}`,
      allowed: `an integer from ${imageSize} to 2048`,
      fix: `set data.resizeTo to ${imageSize} or more (${suggestedResizeTo} leaves room for random crops), or lower data.imageSize`,
      severity: 'error',
    },
  ];
}

/** Rejects a WRN depth other than 6n + 4 with n >= 1: three groups of n two-convolution blocks, plus 4 layers. */
export function checkBackboneDepth(config: ExperimentConfig): CheckFinding[] {
  const { type, depth } = config.model.backbone;
  if (type !== 'wrn') return [];
  const blocksPerGroup = (depth - 4) / 6;
  if (Number.isInteger(blocksPerGroup) && blocksPerGroup >= 1) return [];

  const lower = Math.max(10, 6 * Math.floor((depth - 4) / 6) + 4);
  const upper = Math.max(10, 6 * Math.ceil((depth - 4) / 6) + 4);
  const nearest = lower === upper ? `${lower}` : `${lower} or ${upper}`;
  return [
    {
      path: ['model', 'backbone', 'depth'],
      message: 'WRN depth must be 6n + 4 with n >= 1 residual blocks per group',
      found: `${depth}`,
      allowed: '10, 16, 22, 28, 34, 40, ... (6n + 4)',
      fix: `use ${nearest}`,
      severity: 'error',
    },
  ];
}

/** Rejects an imageSize below the backbone's total stride, which would leave an empty feature map. */
export function checkImageSizeCoversStride(config: ExperimentConfig): CheckFinding[] {
  const { imageSize } = config.data;
  const backbone = config.model.backbone.type;
  const stride = BACKBONE_TOTAL_STRIDE[backbone];
  if (imageSize >= stride) return [];
  return [
    {
      path: ['data', 'imageSize'],
      message: `is smaller than the total stride ${stride} of the ${backbone} backbone, so its feature map would be empty`,
      found: `${imageSize}`,
      allowed: `at least ${stride}`,
      fix: `set data.imageSize to ${stride} or more`,
      severity: 'error',
    },
  ];
}

/**
 * Warns about textDropRate 1: every training batch has its text zeroed, so the with-text evaluation
 * measures nothing the model learnt. It is a warning because an image-only baseline uses exactly this.
 */
export function checkTextDropRate(config: ExperimentConfig): CheckFinding[] {
  const { textDropRate, scaleTextAtTest } = config.model;
  if (textDropRate < 1) return [];

  const withTextResult = scaleTextAtTest
    ? 'accuracyWithText, which equals accuracyWithoutText because scaleTextAtTest scales the text by 1 - textDropRate = 0'
    : 'accuracyWithText, which feeds the model text it was never trained on';
  const selection = config.train.selectBy === 'accuracyWithText' ? ', and set train.selectBy to accuracyWithoutText' : '';
  return [
    {
      path: ['model', 'textDropRate'],
      message: 'the model never sees text in training, because textDropRate 1 drops the text of every batch',
      found: `${textDropRate}`,
      allowed: 'a number from 0 to 1, below 1 for the model to learn from text',
      fix: `set model.textDropRate below 1 (the paper uses 0.5), or for an image-only baseline ignore ${withTextResult}${selection}`,
      severity: 'warning',
    },
  ];
}

/** Every cross-field check, in the order its findings are reported for the same position. */
export const CROSS_FIELD_CHECKS: readonly CrossFieldCheck[] = [
  { name: 'resizeTo covers imageSize', inputs: ['data.resizeTo', 'data.imageSize'], run: checkResizeToCoversImageSize },
  { name: 'backbone depth', inputs: ['model.backbone.type', 'model.backbone.depth'], run: checkBackboneDepth },
  { name: 'imageSize covers stride', inputs: ['data.imageSize', 'model.backbone.type'], run: checkImageSizeCoversStride },
  {
    name: 'textDropRate',
    inputs: ['model.textDropRate', 'model.scaleTextAtTest', 'train.selectBy'],
    run: checkTextDropRate,
  },
];

/**
 * Runs every cross-field check whose inputs are free of schema problems. `invalidPaths` are the dotted
 * paths of those problems; a check is skipped when one of them equals, contains or lies inside one of
 * its inputs.
 */
export function runCrossFieldChecks(config: ExperimentConfig, invalidPaths: readonly string[]): CheckFinding[] {
  const findings: CheckFinding[] = [];
  for (const check of CROSS_FIELD_CHECKS) {
    const blocked = check.inputs.some((input) => invalidPaths.some((invalid) => pathsOverlap(input, invalid)));
    if (!blocked) findings.push(...check.run(config));
  }
  return findings;
}

function pathsOverlap(a: string, b: string): boolean {
  return a === b || b === '' || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}
