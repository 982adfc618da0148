/**
 * Cross-field checks: rules that involve more than one config value, or the file system, so the schema
 * cannot state them. Each check is a small named function from the resolved config to its findings.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { estimateWasmTrainingStep, WASM_HEAP_LIMIT_BYTES } from './memory.ts';
import { BACKBONE_FIELDS, type ExperimentConfig } from './schema.ts';

/** The inputs of the checks besides the config. */
export interface CheckContext {
  /** Absolute folder of the config file, which relative file paths in the config are relative to. */
  configDir: string;
  /** Returns what is at an absolute path; tests replace it. By default it reads the file system. */
  pathKind?: (absolutePath: string) => 'file' | 'folder' | 'missing';
}

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

/** A finding with the name of the check that made it, as `runCrossFieldChecks` returns it. */
export interface NamedCheckFinding extends CheckFinding {
  /** The check's name; the problem code is `cross-field/<check>`. */
  check: string;
}

/** A cross-field check and the config paths it reads. */
export interface CrossFieldCheck {
  /** Stable kebab-case name of the problem it finds, used in the problem code `cross-field/<name>`. */
  name: string;
  /** One sentence on what the check rejects, for the problem code table in configs/README.md. */
  description: string;
  /**
   * Dotted paths the check reads. The loader skips the check when the schema already reported a problem
   * at or around one of them, because then the value may have the wrong type.
   */
  inputs: readonly string[];
  run: (config: ExperimentConfig, context: CheckContext) => CheckFinding[];
}

/**
 * Total stride of each backbone: input side divided by feature map side.
 * NOTE: must match src/model/wrn.ts, whose WRN has a stride-4 stem and three stages at strides 1, 2 and 2,
 * and src/model/resnet18.ts, whose stem and max pool have stride 4 and whose four stages 1, 2, 2 and 2.
 */
export const BACKBONE_TOTAL_STRIDE: Record<ExperimentConfig['model']['backbone']['type'], number> = { wrn: 16, resnet18: 32 };

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
  // The image-only model reads no text, so textDropRate means nothing to it.
  if (textDropRate < 1 || config.model.type === 'image-only') return [];

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

/**
 * Rejects a backbone key that belongs to another backbone type, such as `depth` with `type: resnet18`.
 * The schema lists the keys of every type, so it cannot reject these itself.
 */
export function checkBackboneFieldsMatchType(config: ExperimentConfig): CheckFinding[] {
  const backbone = config.model.backbone as { type: keyof typeof BACKBONE_FIELDS } & Record<string, unknown>;
  const ownKeys = Object.keys(BACKBONE_FIELDS[backbone.type] ?? {});
  const findings: CheckFinding[] = [];
  for (const key of Object.keys(backbone)) {
    if (key === 'type' || ownKeys.includes(key)) continue;
    const owners = Object.entries(BACKBONE_FIELDS)
      .filter(([, fields]) => key in fields)
      .map(([type]) => type);
    if (owners.length === 0) continue;
    findings.push({
      path: ['model', 'backbone', key],
      message: `\`${key}\` applies only to backbone type ${owners.join(' or ')}, but model.backbone.type is ${backbone.type}`,
      found: `type ${backbone.type} with ${key}`,
      allowed: ownKeys.length > 0 ? `for type ${backbone.type}: type, ${ownKeys.join(', ')}` : `for type ${backbone.type}: type`,
      fix:
        `delete \`${key}\`, or set model.backbone.type to ${owners[0]}. Where a base config sets it, tag the ` +
        'backbone `!replace` (`backbone: !replace`) so that it replaces the base\'s backbone instead of merging into it',
      severity: 'error',
    });
  }
  return findings;
}

/**
 * Rejects a pretrained-weights file that does not exist. It reads `model.backbone.weights`, a path
 * relative to the config file or null, for backbones that have the field; for the others it finds nothing.
 */
export function checkBackboneWeightsExist(config: ExperimentConfig, context: CheckContext): CheckFinding[] {
  const weights = (config.model.backbone as { weights?: unknown }).weights;
  if (typeof weights !== 'string' || weights === '') return [];
  const absolutePath = path.resolve(context.configDir, weights);
  const kind = (context.pathKind ?? pathKindOnDisk)(absolutePath);
  if (kind === 'file') return [];
  return [
    {
      path: ['model', 'backbone', 'weights'],
      message:
        kind === 'folder'
          ? `the pretrained weights path is a folder, not a file: ${absolutePath}`
          : `the pretrained weights file was not found: ${absolutePath}`,
      found: JSON.stringify(weights),
      allowed: 'the path of an existing weights file, relative to the config file that sets it, or null',
      fix: 'save an ImageNet ResNet-18 state dict there in the safetensors format (README.md, "Pretrained ResNet-18 weights" says how) or set model.backbone.weights to its path, or set it to null to train the backbone from its random initialisation',
      severity: 'error',
    },
  ];
}

function pathKindOnDisk(absolutePath: string): 'file' | 'folder' | 'missing' {
  const stats = statSync(absolutePath, { throwIfNoEntry: false });
  if (stats === undefined) return 'missing';
  return stats.isDirectory() ? 'folder' : 'file';
}

/**
 * Checks a training step against the 4 GiB heap of the wasm backend (see estimateWasmTrainingStep). A
 * step that does not fit runs as micro-batches with averaged gradients when train.microBatchSize is auto,
 * which is worth a warning, because batch norm then normalises each micro-batch with its own statistics.
 * It is an error (a warning with backend auto, which may pick another backend) when an explicit
 * train.microBatchSize does not fit, or when not even one sample does.
 */
export function checkWasmBatchMemory(config: ExperimentConfig): CheckFinding[] {
  const { backend } = config;
  if (backend !== 'wasm' && backend !== 'auto') return [];
  const estimate = estimateWasmTrainingStep(config);
  if (estimate.totalBytes <= WASM_HEAP_LIMIT_BYTES) return [];

  const gibibytes = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  const heap = `the ${gibibytes(WASM_HEAP_LIMIT_BYTES)} heap of the wasm backend`;
  const onAuto = backend === 'auto' ? ', which backend auto picks unless @tensorflow/tfjs-node is installed' : '';
  const orNative = backend === 'auto' ? '; or install @tensorflow/tfjs-node and set backend: tensorflow' : '';
  const severity = backend === 'wasm' ? 'error' : 'warning';
  const { batchSize, microBatchSize } = config.train;
  const { largestBatch } = estimate;

  if (largestBatch < 1) {
    return [
      {
        path: ['train', 'batchSize'],
        message: `a training step of one sample needs about ${gibibytes(estimate.fixedBytes + estimate.perSampleBytes)}, more than ${heap}${onAuto}`,
        found: `${batchSize}`,
        allowed: 'no batch size with these sizes',
        fix: `lower data.imageSize, the model widths or the report length${orNative}`,
        severity,
      },
    ];
  }
  if (microBatchSize === 'auto') {
    return [
      {
        path: ['train', 'batchSize'],
        message:
          `a training step of batch ${batchSize} needs about ${gibibytes(estimate.totalBytes)}, more than ${heap}${onAuto}, ` +
          `so each step runs as micro-batches of at most ${largestBatch} samples whose gradients are averaged, and ` +
          'batch norm normalises each micro-batch with its own statistics',
        found: `${batchSize}`,
        allowed: `at most ${largestBatch} for whole-batch statistics with these sizes (an estimate)`,
        fix: `set train.batchSize to ${largestBatch} or less to normalise whole batches, or keep it and accept the micro-batches${orNative}`,
        severity: 'warning',
      },
    ];
  }
  if (microBatchSize <= largestBatch) return [];
  const microBytes = estimate.fixedBytes + microBatchSize * estimate.perSampleBytes;
  return [
    {
      path: ['train', 'microBatchSize'],
      message: `a micro-batch of ${microBatchSize} samples needs about ${gibibytes(microBytes)}, more than ${heap}${onAuto}`,
      found: `${microBatchSize}`,
      allowed: `at most ${largestBatch} with these sizes (an estimate)`,
      fix: `set train.microBatchSize to ${largestBatch} or less, or to auto${orNative}`,
      severity,
    },
  ];
}

/** Rejects selecting epochs by the with-text accuracy of a model that reads no text. */
export function checkSelectionMetricMeasured(config: ExperimentConfig): CheckFinding[] {
  if (config.model.type !== 'image-only' || config.train.selectBy !== 'accuracyWithText') return [];
  return [
    {
      path: ['train', 'selectBy'],
      message: 'model.type image-only reads no text, so it has no with-text accuracy to select epochs by',
      found: 'accuracyWithText',
      allowed: 'accuracyWithoutText or loss',
      fix: 'set train.selectBy to accuracyWithoutText',
      severity: 'error',
    },
  ];
}

/** Rejects freezing every part that the model has, which would leave training nothing to update. */
export function checkSomePartTrains(config: ExperimentConfig): CheckFinding[] {
  // The image-only model has no language model and no attention.
  const modelParts = config.model.type === 'image-only' ? (['cnn', 'classifier'] as const) : (['cnn', 'text', 'attention', 'classifier'] as const);
  if (modelParts.some((part) => !config.train.parts[part].frozen)) return [];
  return [
    {
      path: ['train', 'parts'],
      message: `every part of the ${config.model.type} model is frozen, so training would update nothing`,
      found: modelParts.map((part) => `${part}.frozen true`).join(', '),
      allowed: 'at least one part of the model with frozen false',
      fix: 'set frozen: false for the part to train, for example train.parts.classifier.frozen',
      severity: 'error',
    },
  ];
}

/** Every cross-field check, in the order its findings are reported for the same position. */
export const CROSS_FIELD_CHECKS: readonly CrossFieldCheck[] = [
  {
    name: 'resize-to-below-image-size',
    description: 'data.resizeTo is smaller than data.imageSize, the crop taken from the resized image.',
    inputs: ['data.resizeTo', 'data.imageSize'],
    run: checkResizeToCoversImageSize,
  },
  {
    name: 'backbone-depth',
    description: 'A WRN depth that is not 6n + 4 with n >= 1.',
    inputs: ['model.backbone.type', 'model.backbone.depth'],
    run: checkBackboneDepth,
  },
  {
    name: 'image-size-below-stride',
    description: "data.imageSize is smaller than the backbone's total stride, which would leave an empty feature map.",
    inputs: ['data.imageSize', 'model.backbone.type'],
    run: checkImageSizeCoversStride,
  },
  {
    name: 'text-drop-rate-one',
    description: 'A warning: model.textDropRate 1 drops the text of every training batch, so the with-text test measures text the model never saw.',
    inputs: ['model.type', 'model.textDropRate', 'model.scaleTextAtTest', 'train.selectBy'],
    run: checkTextDropRate,
  },
  {
    name: 'backbone-field-of-other-type',
    description: 'A model.backbone key that belongs to another backbone type, such as depth with type resnet18.',
    inputs: ['model.backbone'],
    run: checkBackboneFieldsMatchType,
  },
  {
    name: 'backbone-weights-missing',
    description: 'model.backbone.weights names a pretrained weights file that does not exist.',
    inputs: ['model.backbone.weights'],
    run: checkBackboneWeightsExist,
  },
  {
    name: 'select-by-missing-metric',
    description: 'train.selectBy is accuracyWithText for model.type image-only, which reads no text.',
    inputs: ['model.type', 'train.selectBy'],
    run: checkSelectionMetricMeasured,
  },
  {
    name: 'every-part-frozen',
    description: 'train.parts freezes every part of the model, so training would update nothing.',
    inputs: ['model.type', 'train.parts'],
    run: checkSomePartTrains,
  },
  {
    name: 'wasm-batch-memory',
    description: 'The estimated memory of a training step exceeds the 4 GiB heap of the wasm backend: a warning when it runs as micro-batches, an error when train.microBatchSize or a single sample does not fit (a warning with backend auto).',
    inputs: ['backend', 'train.batchSize', 'train.microBatchSize', 'data', 'model'],
    run: checkWasmBatchMemory,
  },
];

/**
 * Runs every cross-field check whose inputs are free of schema problems. `invalidPaths` are the dotted
 * paths of those problems; a check is skipped when one of them equals, contains or lies inside one of
 * its inputs.
 */
export function runCrossFieldChecks(
  config: ExperimentConfig,
  invalidPaths: readonly string[],
  context: CheckContext,
): NamedCheckFinding[] {
  const findings: NamedCheckFinding[] = [];
  for (const check of CROSS_FIELD_CHECKS) {
    const blocked = check.inputs.some((input) => invalidPaths.some((invalid) => pathsOverlap(input, invalid)));
    if (blocked) continue;
    for (const finding of check.run(config, context)) findings.push({ ...finding, check: check.name });
  }
  return findings;
}

function pathsOverlap(a: string, b: string): boolean {
  return a === b || b === '' || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}
