/**
 * Loading a backbone's weights from a PyTorch state dict saved in the safetensors format, with the tensor
 * names of torchvision and timm. Every tensor the backbone needs must be in the file with its PyTorch
 * shape; every problem is reported by tensor name in one error. Two kinds of tensor are skipped by name:
 * the ImageNet classifier `fc.weight` and `fc.bias` (a backbone ends before it), and the batch-norm
 * step counters `*.num_batches_tracked` (int64, unused in evaluation and by this project's batch norm).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { TandemError } from '../errors.ts';
import type { Backbone, CheckpointTensor } from './backbone.ts';
import { FLOAT_DTYPES, parseSafetensors, readFloat32, SafetensorsError, type SafetensorsFile } from './safetensors.ts';

/** Checkpoint tensors that a backbone never uses; loading skips them. */
export const IGNORED_CHECKPOINT_TENSORS = [/^fc\.(weight|bias)$/, /\.num_batches_tracked$/];

/** Names listed per kind of problem before the rest are counted. */
const LISTED_NAMES = 12;

/** A weights file that is missing, unreadable, malformed or does not fit the backbone. */
export class WeightsFileError extends TandemError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'WeightsFileError';
  }
}

/**
 * Copy the weights in the safetensors file `file` into `backbone`. Convolution weights are transposed from
 * PyTorch's out x in x height x width to tfjs's height x width x in x out. `setting` names the config
 * field that gave the path, for the error message. Throws a WeightsFileError listing every missing, extra,
 * misshapen or non-float tensor by name.
 */
export function loadBackboneWeights(backbone: Backbone, file: string, setting: string): void {
  const expected = backbone.checkpointTensors?.();
  if (!expected) throw new WeightsFileError(`${setting} is set, but this backbone cannot load pretrained weights.`);
  const checkpoint = readCheckpoint(file, setting);
  const problems = compareWithCheckpoint(expected, checkpoint);
  if (problems.length > 0) {
    throw new WeightsFileError(
      `The weights file ${file} (${setting}) does not fit the backbone:\n` +
        problems.map((line) => `  ${line}\n`).join('') +
        'It must hold a torchvision or timm ResNet-18 state dict in the safetensors format; ' +
        'fc.* and *.num_batches_tracked are ignored.',
    );
  }
  for (const tensor of expected) {
    const entry = checkpoint.tensors.get(tensor.name)!;
    const values = readFloat32(checkpoint, entry);
    tf.tidy(() => {
      const loaded = tf.tensor(values, entry.shape, 'float32');
      tensor.variable.assign(tensor.layout === 'conv-oihw' ? tf.transpose(loaded, [2, 3, 1, 0]) : loaded);
    });
  }
}

function readCheckpoint(file: string, setting: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'was not found' : `cannot be read: ${(error as Error).message}`;
    throw new WeightsFileError(`The weights file ${file} (${setting}) ${reason}.`, { cause: error });
  }
  try {
    return parseSafetensors(bytes);
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    throw new WeightsFileError(`The weights file ${file} (${setting}) is not a valid safetensors file: ${error.message}.`, {
      cause: error,
    });
  }
}

/** Returns the shape that a tensor has in a PyTorch checkpoint. */
function checkpointShape(tensor: CheckpointTensor): number[] {
  const shape = tensor.variable.shape;
  if (tensor.layout === 'vector') return shape;
  const [height, width, inChannels, outChannels] = shape;
  return [outChannels, inChannels, height, width];
}

/** Lines that describe each mismatch between the backbone's tensors and the checkpoint's. */
function compareWithCheckpoint(expected: CheckpointTensor[], checkpoint: SafetensorsFile): string[] {
  const missing: string[] = [];
  const misshapen: string[] = [];
  const wrongType: string[] = [];
  for (const tensor of expected) {
    const shape = checkpointShape(tensor);
    const entry = checkpoint.tensors.get(tensor.name);
    if (!entry) {
      missing.push(`${tensor.name} [${shape.join(', ')}]`);
      continue;
    }
    if (entry.shape.join(',') !== shape.join(',')) {
      misshapen.push(`${tensor.name} is [${entry.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    if (!(FLOAT_DTYPES as readonly string[]).includes(entry.dtype)) wrongType.push(`${tensor.name} is ${entry.dtype}`);
  }
  const known = new Set(expected.map((tensor) => tensor.name));
  const extra = [...checkpoint.tensors.keys()].filter(
    (name) => !known.has(name) && !IGNORED_CHECKPOINT_TENSORS.some((pattern) => pattern.test(name)),
  );

  const lines: string[] = [];
  if (missing.length > 0) lines.push(`missing tensors: ${listNames(missing)}`);
  if (extra.length > 0) lines.push(`unexpected tensors: ${listNames(extra)}${prefixHint(extra, known)}`);
  if (misshapen.length > 0) lines.push(`tensors of the wrong shape: ${listNames(misshapen)}`);
  if (wrongType.length > 0) lines.push(`tensors of an unsupported dtype (supported: ${FLOAT_DTYPES.join(', ')}): ${listNames(wrongType)}`);
  return lines;
}

function listNames(names: string[]): string {
  const shown = names.slice(0, LISTED_NAMES).join('; ');
  return names.length > LISTED_NAMES ? `${shown}; and ${names.length - LISTED_NAMES} more` : shown;
}

/**
 * Returns a hint for checkpoints saved from a wrapped model, whose names all carry a prefix such as `module.`
 * (torch.nn.DataParallel) in front of the expected names.
 */
function prefixHint(extra: string[], known: Set<string>): string {
  const prefixes = new Set<string>();
  for (const name of extra) {
    // The longest expected name that ends `name`: `module.layer1.0.conv1.weight` also ends in `.conv1.weight`.
    const matches = [...known].filter((expectedName) => name.endsWith(`.${expectedName}`));
    if (matches.length === 0) continue;
    const longest = matches.reduce((a, b) => (b.length > a.length ? b : a));
    prefixes.add(name.slice(0, name.length - longest.length));
  }
  if (prefixes.size !== 1) return '';
  const [prefix] = prefixes;
  return ` (the names start with "${prefix}"; save the state dict without that prefix)`;
}
