/**
 * Training checkpoints: everything that later epochs depend on, saved after every epoch so that an
 * interrupted run can continue and end with the same numbers as an uninterrupted one.
 *
 * A checkpoint is a folder `epoch-<n>/` inside the run's `checkpoints/` folder with two files:
 * - `checkpoint.json`, the manifest: epoch, history, best epoch and score, learning rates, Adam's step
 *   count, the state of every random stream, and the size and SHA-256 of the tensor file;
 * - `tensors.safetensors`, every tensor as little-endian float32 in the safetensors layout
 *   (github.com/huggingface/safetensors), so that other tools can read the weights:
 *   `parameters/<name>`, `best/<name>` and `optimizers/<optimizer>/<state name>`.
 *
 * The folder is written under a temporary name and renamed when both files are on disk, and older
 * checkpoints are removed only after that rename, so a crash at any moment leaves at least the previous
 * checkpoint whole. Loading checks the sizes and the hash, so a torn or truncated file is detected.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileSystemError, makeFolders } from '../artifacts/files.ts';
import { TandemError } from '../errors.ts';
import type { ParameterStore } from '../model/parameters.ts';
import { parseSafetensors, readFloat32, SafetensorsError } from '../model/safetensors.ts';
import type { Random } from '../random.ts';
import { pauseInCheckpointForTests } from '../reproduce/test-pauses.ts';
import type { Optimizer } from './optimizers.ts';
import type { EpochRecord } from './train.ts';

/** Manifest `format` value; a file without it is not a tandem checkpoint. */
export const CHECKPOINT_FORMAT = 'tandem-checkpoint';
/** Manifest layout version; bump it when a field changes meaning. */
export const CHECKPOINT_VERSION = 1;
export const MANIFEST_FILE_NAME = 'checkpoint.json';
export const TENSORS_FILE_NAME = 'tensors.safetensors';

/** State words of a sfc32 generator, from Random.getState. */
export type RandomState = [number, number, number, number];

/** A tensor copied out of the backend. */
export interface SavedTensor {
  shape: number[];
  values: Float32Array;
}

/** One optimiser's state. */
export interface OptimizerState {
  /** The learning rate of the next epoch, after this epoch's decay. */
  learningRate: number;
  /** Updates applied so far, for optimisers with bias correction (Adam); null for the others. */
  stepCount: number | null;
  /** The optimiser's state tensors by the names that Optimizer.state() gives. */
  tensors: Map<string, SavedTensor>;
}

/** Everything a resumed run needs to continue exactly where the checkpoint was taken. */
export interface TrainingState {
  /** Epochs finished; training resumes at epoch + 1. */
  epoch: number;
  /** One record per finished epoch. */
  history: EpochRecord[];
  /** 1-based epoch with the best validation score so far; 0 when no epoch finished. */
  bestEpoch: number;
  /** That epoch's selection score (higher is better); null when no epoch finished. */
  bestScore: number | null;
  /** Parameters and buffers as they were after the best epoch; null when no epoch finished. */
  bestWeights: Map<string, SavedTensor> | null;
  /** Parameters and buffers after the last finished epoch, by ParameterStore name. */
  parameters: Map<string, SavedTensor>;
  /** Each optimiser's state by the name the Trainer gives it. */
  optimizers: Record<string, OptimizerState>;
  /** Learning rates that the loop keeps apart from its optimisers, such as the decayed base rates, by name. */
  learningRates: Record<string, number>;
  /** Each random stream of the training loop by its fork name, e.g. 'shuffle'. */
  random: Record<string, RandomState>;
}

/** The live objects whose state a checkpoint captures and restores. */
export interface TrainingParts {
  store: ParameterStore;
  optimizers: Record<string, Optimizer>;
  streams: Record<string, Random>;
}

/** Copy the state of `parts` out of the backend, with the loop's bookkeeping, into a TrainingState. */
export function captureTrainingState(
  parts: TrainingParts,
  progress: {
    epoch: number;
    history: EpochRecord[];
    learningRates: Record<string, number>;
    bestEpoch: number;
    bestScore: number;
    bestWeights: Map<string, Float32Array> | null;
  },
): TrainingState {
  const named = parts.store.named();
  const shapes = new Map(named.map(([name, variable]) => [name, variable.shape]));
  const parameters = saveVariables(named);
  let bestWeights: Map<string, SavedTensor> | null = null;
  if (progress.bestWeights) {
    bestWeights = new Map();
    for (const [name, values] of progress.bestWeights) bestWeights.set(name, { shape: shapes.get(name) ?? [values.length], values });
  }
  const optimizers: Record<string, OptimizerState> = {};
  for (const [name, optimizer] of Object.entries(parts.optimizers)) {
    optimizers[name] = {
      learningRate: optimizer.learningRate,
      stepCount: stepCountOf(optimizer),
      tensors: saveVariables(optimizer.state()),
    };
  }
  const random: Record<string, RandomState> = {};
  for (const [name, stream] of Object.entries(parts.streams)) random[name] = stream.getState();
  return {
    epoch: progress.epoch,
    history: structuredClone(progress.history),
    bestEpoch: progress.bestEpoch,
    bestScore: Number.isFinite(progress.bestScore) ? progress.bestScore : null,
    bestWeights,
    parameters,
    optimizers,
    learningRates: { ...progress.learningRates },
    random,
  };
}

/**
 * Put the parameters, optimiser state and random streams of `state` back into `parts`. Throws a
 * TandemError when the checkpoint does not fit the model: a missing or extra name, or another shape.
 */
export function restoreTrainingState(state: TrainingState, parts: TrainingParts): void {
  const named = parts.store.named();
  requireSameNames('parameters', named.map(([name]) => name), [...state.parameters.keys()]);
  if (state.bestWeights) requireSameNames('best weights', named.map(([name]) => name), [...state.bestWeights.keys()]);
  requireSameNames('optimisers', Object.keys(parts.optimizers), Object.keys(state.optimizers));
  requireSameNames('random streams', Object.keys(parts.streams), Object.keys(state.random));

  const assignments: [string, tf.Variable, SavedTensor][] = named.map(([name, variable]) => [
    `parameter ${name}`,
    variable,
    state.parameters.get(name)!,
  ]);
  for (const [name, optimizer] of Object.entries(parts.optimizers)) {
    const saved = state.optimizers[name];
    const variables = optimizer.state();
    requireSameNames(`state of optimiser ${name}`, variables.map(([key]) => key), [...saved.tensors.keys()]);
    for (const [key, variable] of variables) assignments.push([`optimiser ${name} ${key}`, variable, saved.tensors.get(key)!]);
  }
  // Check every shape before assigning anything, so that a mismatch leaves the model as it was.
  for (const [label, variable, saved] of assignments) {
    if (variable.shape.join('x') !== saved.shape.join('x')) {
      throw new TandemError(
        `The checkpoint does not fit the model: ${label} has shape [${saved.shape.join(', ')}] in the checkpoint ` +
          `and [${variable.shape.join(', ')}] in the model. Resume with the config the run started with.`,
      );
    }
  }
  for (const [, variable, saved] of assignments) {
    tf.tidy(() => variable.assign(tf.tensor(saved.values, variable.shape, 'float32')));
  }
  for (const [name, optimizer] of Object.entries(parts.optimizers)) {
    const saved = state.optimizers[name];
    optimizer.learningRate = saved.learningRate;
    if (saved.stepCount !== null) (optimizer as Optimizer & { stepCount: number }).stepCount = saved.stepCount;
  }
  for (const [name, stream] of Object.entries(parts.streams)) stream.setState(state.random[name]);
}

/** The best weights of `state` as ParameterStore.snapshot() returns them. */
export function bestSnapshot(state: TrainingState): Map<string, Float32Array> | null {
  if (!state.bestWeights) return null;
  return new Map([...state.bestWeights].map(([name, tensor]) => [name, tensor.values]));
}

function saveVariables(variables: [string, tf.Variable][]): Map<string, SavedTensor> {
  const saved = new Map<string, SavedTensor>();
  for (const [name, variable] of variables) {
    saved.set(name, { shape: [...variable.shape], values: (variable.dataSync() as Float32Array).slice() });
  }
  return saved;
}

function stepCountOf(optimizer: Optimizer): number | null {
  const count = (optimizer as Partial<{ stepCount: number }>).stepCount;
  return typeof count === 'number' ? count : null;
}

function requireSameNames(what: string, expected: string[], found: string[]): void {
  const missing = expected.filter((name) => !found.includes(name));
  const extra = found.filter((name) => !expected.includes(name));
  if (missing.length === 0 && extra.length === 0) return;
  const parts = [
    missing.length ? `missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}` : '',
    extra.length ? `unknown ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}` : '',
  ].filter(Boolean);
  throw new TandemError(
    `The checkpoint does not fit the model: its ${what} differ (${parts.join('; ')}). ` +
      'Resume with the config and the tandem version the run started with.',
  );
}

/** The manifest as stored in checkpoint.json. */
interface Manifest {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  epoch: number;
  /** hashConfig of the run's config, so that a checkpoint is never resumed under other settings. */
  configSha256: string;
  history: EpochRecord[];
  bestEpoch: number;
  bestScore: number | null;
  hasBestWeights: boolean;
  optimizers: Record<string, { learningRate: number; stepCount: number | null }>;
  learningRates: Record<string, number>;
  random: Record<string, RandomState>;
  tensorsFile: { name: string; bytes: number; sha256: string };
}

/** A checkpoint read back from disk, with the folder it came from. */
export interface LoadedCheckpoint {
  dir: string;
  configSha256: string;
  state: TrainingState;
}

/** Name of the folder of the checkpoint after `epoch`; zero-padded so that names sort by epoch. */
export function checkpointFolderName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

const FOLDER_PATTERN = /^epoch-(\d+)$/;
const TEMPORARY_PATTERN = /^\.epoch-\d+\.tmp-\d+$/;

/**
 * Write `state` as the newest checkpoint in `checkpointsDir` (created if needed), then remove the older
 * ones and any temporary folder that an earlier crash left behind. Returns the new checkpoint's folder.
 */
export async function writeCheckpoint(checkpointsDir: string, state: TrainingState, configSha256: string): Promise<string> {
  const finalDir = path.join(checkpointsDir, checkpointFolderName(state.epoch));
  const temporaryDir = path.join(checkpointsDir, `.${checkpointFolderName(state.epoch)}.tmp-${process.pid}`);
  try {
    makeFolders(checkpointsDir);
    rmSync(temporaryDir, { recursive: true, force: true });
    mkdirSync(temporaryDir);
    const tensors = encodeTensors(state);
    writeDurably(path.join(temporaryDir, TENSORS_FILE_NAME), tensors);
    const manifest: Manifest = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      epoch: state.epoch,
      configSha256,
      history: state.history,
      bestEpoch: state.bestEpoch,
      bestScore: state.bestScore,
      hasBestWeights: state.bestWeights !== null,
      optimizers: Object.fromEntries(
        Object.entries(state.optimizers).map(([name, o]) => [name, { learningRate: o.learningRate, stepCount: o.stepCount }]),
      ),
      learningRates: state.learningRates,
      random: state.random,
      tensorsFile: { name: TENSORS_FILE_NAME, bytes: tensors.length, sha256: sha256(tensors) },
    };
    writeDurably(path.join(temporaryDir, MANIFEST_FILE_NAME), `${JSON.stringify(manifest, null, 2)}\n`);
    syncFolder(temporaryDir);
  } catch (error) {
    throw fileSystemError(temporaryDir, error);
  }

  await pauseInCheckpointForTests(state.epoch);

  try {
    // A folder of the same epoch can only be one that failed to load before this run resumed.
    rmSync(finalDir, { recursive: true, force: true });
    renameSync(temporaryDir, finalDir);
    syncFolder(checkpointsDir);
    // Every other epoch folder is older, or newer but damaged (the reason this run resumed before it).
    for (const entry of readdirSync(checkpointsDir)) {
      const match = FOLDER_PATTERN.exec(entry);
      const superseded = match !== null && Number(match[1]) !== state.epoch;
      if (superseded || TEMPORARY_PATTERN.test(entry)) rmSync(path.join(checkpointsDir, entry), { recursive: true, force: true });
    }
  } catch (error) {
    throw fileSystemError(finalDir, error);
  }
  return finalDir;
}

/**
 * Load the newest checkpoint of `checkpointsDir` that passes every check. A newer one that fails is
 * skipped, described in `skipped` and named in `skippedDirs`, so the caller can report it. Returns a null checkpoint when the
 * folder does not exist or contains no valid checkpoint.
 */
export function readLatestCheckpoint(checkpointsDir: string): { checkpoint: LoadedCheckpoint | null; skipped: string[]; skippedDirs: string[] } {
  let entries: string[];
  try {
    entries = readdirSync(checkpointsDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { checkpoint: null, skipped: [], skippedDirs: [] };
    throw new TandemError(`Failed to read the checkpoint folder ${checkpointsDir}: ${(error as Error).message}.`, { cause: error });
  }
  const folders = entries
    .map((entry) => ({ entry, match: FOLDER_PATTERN.exec(entry) }))
    .filter((item) => item.match !== null)
    .sort((a, b) => Number(b.match![1]) - Number(a.match![1]));
  const skipped: string[] = [];
  const skippedDirs: string[] = [];
  for (const { entry } of folders) {
    const dir = path.join(checkpointsDir, entry);
    try {
      return { checkpoint: readCheckpoint(dir), skipped, skippedDirs };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      skipped.push(error.message);
      skippedDirs.push(dir);
    }
  }
  return { checkpoint: null, skipped, skippedDirs };
}

/** A checkpoint folder that is incomplete, damaged or of another format. */
export class CheckpointError extends TandemError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

/** Read and verify one checkpoint folder; throws CheckpointError when any check fails. */
export function readCheckpoint(dir: string): LoadedCheckpoint {
  const fail = (problem: string, cause?: unknown): never => {
    throw new CheckpointError(`Checkpoint ${dir} is invalid: ${problem}.`, { cause });
  };
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, MANIFEST_FILE_NAME), 'utf8'));
  } catch (error) {
    return fail(`${MANIFEST_FILE_NAME} could not be read as JSON (${(error as Error).message})`, error);
  }
  if (manifest?.format !== CHECKPOINT_FORMAT) return fail(`${MANIFEST_FILE_NAME} has no "format": "${CHECKPOINT_FORMAT}"`);
  if (manifest.version !== CHECKPOINT_VERSION) {
    return fail(`it has layout version ${manifest.version}, and this tandem reads version ${CHECKPOINT_VERSION}`);
  }
  const manifestProblem = describeManifestProblem(manifest);
  if (manifestProblem) return fail(`${MANIFEST_FILE_NAME} ${manifestProblem}`);

  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path.join(dir, manifest.tensorsFile.name));
  } catch (error) {
    return fail(`${manifest.tensorsFile.name} could not be read (${(error as Error).message})`, error);
  }
  if (bytes.length !== manifest.tensorsFile.bytes) {
    return fail(`${manifest.tensorsFile.name} has ${bytes.length} bytes, and the manifest expects ${manifest.tensorsFile.bytes}`);
  }
  if (sha256(bytes) !== manifest.tensorsFile.sha256) return fail(`the SHA-256 of ${manifest.tensorsFile.name} does not match the manifest`);

  let file: ReturnType<typeof parseSafetensors>;
  try {
    file = parseSafetensors(bytes);
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    return fail(`${manifest.tensorsFile.name}: ${error.message}`, error);
  }
  const group = (prefix: string): Map<string, SavedTensor> => {
    const tensors = new Map<string, SavedTensor>();
    for (const [name, entry] of file.tensors) {
      if (name.startsWith(prefix)) tensors.set(name.slice(prefix.length), { shape: entry.shape, values: readFloat32(file, entry) });
    }
    return tensors;
  };

  const optimizers: Record<string, OptimizerState> = {};
  for (const [name, saved] of Object.entries(manifest.optimizers)) {
    optimizers[name] = { ...saved, tensors: group(`optimizers/${name}/`) };
  }
  const state: TrainingState = {
    epoch: manifest.epoch,
    history: manifest.history,
    bestEpoch: manifest.bestEpoch,
    bestScore: manifest.bestScore,
    bestWeights: manifest.hasBestWeights ? group('best/') : null,
    parameters: group('parameters/'),
    optimizers,
    learningRates: manifest.learningRates,
    random: manifest.random,
  };
  return { dir, configSha256: manifest.configSha256, state };
}

/** Describe the first missing or mistyped manifest field as a phrase after the file name; null when there is none. */
function describeManifestProblem(manifest: Manifest): string | null {
  const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
  const isRecord = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isCount(manifest.epoch)) return 'has no valid "epoch"';
  if (typeof manifest.configSha256 !== 'string') return 'has no "configSha256"';
  if (!Array.isArray(manifest.history) || manifest.history.length !== manifest.epoch) return 'has no history of one record per epoch';
  if (!isCount(manifest.bestEpoch) || manifest.bestEpoch > manifest.epoch) return 'has no valid "bestEpoch"';
  if (!isRecord(manifest.optimizers)) return 'has no "optimizers"';
  if (!isRecord(manifest.learningRates)) return 'has no "learningRates"';
  if (!isRecord(manifest.random)) return 'has no "random" stream states';
  for (const [name, words] of Object.entries(manifest.random)) {
    // sfc32 keeps some words as signed and some as unsigned 32-bit integers.
    if (!Array.isArray(words) || words.length !== 4 || !words.every((word) => Number.isInteger(word) && word >= -(2 ** 31) && word < 2 ** 32)) {
      return `has an invalid state for the random stream "${name}"`;
    }
  }
  const file = manifest.tensorsFile;
  if (!isRecord(file) || typeof file.name !== 'string' || path.basename(file.name) !== file.name || !isCount(file.bytes) || typeof file.sha256 !== 'string') {
    return 'has no valid "tensorsFile"';
  }
  return null;
}

/** Encode every tensor of `state` in the safetensors layout, all as F32. */
function encodeTensors(state: TrainingState): Uint8Array {
  const tensors: [string, SavedTensor][] = [
    ...[...state.parameters].map(([name, t]): [string, SavedTensor] => [`parameters/${name}`, t]),
    ...[...(state.bestWeights ?? new Map<string, SavedTensor>())].map(([name, t]): [string, SavedTensor] => [`best/${name}`, t]),
  ];
  for (const [optimizer, saved] of Object.entries(state.optimizers)) {
    for (const [name, t] of saved.tensors) tensors.push([`optimizers/${optimizer}/${name}`, t]);
  }

  const header: Record<string, unknown> = { __metadata__: { format: CHECKPOINT_FORMAT, epoch: String(state.epoch) } };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    header[name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, offset + tensor.values.length * 4] };
    offset += tensor.values.length * 4;
  }
  let headerText = JSON.stringify(header);
  // The format allows trailing spaces in the header; padding to 8 bytes aligns the data for readers that map it.
  headerText += ' '.repeat((8 - ((8 + Buffer.byteLength(headerText)) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');

  const bytes = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const [, tensor] of tensors) {
    for (let i = 0; i < tensor.values.length; i++) view.setFloat32(position + 4 * i, tensor.values[i], true);
    position += tensor.values.length * 4;
  }
  return bytes;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Write a file and flush it to the disk, so that a rename after this never exposes a file still in the cache. */
function writeDurably(file: string, contents: string | Uint8Array): void {
  const descriptor = openSync(file, 'wx');
  try {
    const buffer = typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents;
    let written = 0;
    while (written < buffer.length) written += writeSync(descriptor, buffer, written, buffer.length - written);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** Flush a folder's entries (new names and renames) to the disk, where the file system supports that. */
function syncFolder(dir: string): void {
  let descriptor: number;
  try {
    descriptor = openSync(dir, 'r');
  } catch (error) {
    // Windows cannot open a folder for fsync, so the flush is skipped there.
    if ((error as NodeJS.ErrnoException).code === 'EISDIR' || (error as NodeJS.ErrnoException).code === 'EPERM') return;
    throw error;
  }
  try {
    fsyncSync(descriptor);
  } catch (error) {
    // Some file systems (some network mounts) reject fsync on a folder.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    closeSync(descriptor);
  }
}
