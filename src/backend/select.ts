/**
 * Chooses and initialises the tfjs backend of a run. Call selectBackend once, before any tensor is
 * created, because tfjs initialises a backend of its own choice on the first tensor operation.
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import type { BackendName, BlasSetting } from '../config/schema.ts';
import { TandemError } from '../errors.ts';
import { BLAS_LIBRARY_VARIABLE, type BlasThreading, type NativeBlasStatus, loadNativeBlas } from './native-blas.ts';

/** A backend that selectBackend can return: every BackendName except 'auto'. */
export type ResolvedBackendName = Exclude<BackendName, 'auto'>;

/** The outcome of selectBackend. */
export interface BackendInfo {
  /** The backend in use, never 'auto'. */
  name: ResolvedBackendName;
  /** tf.getBackend() after the selection: 'tensorflow', 'wasm' or 'cpu'. */
  tfjsBackend: string;
  /** Package name (without the @tensorflow/ scope) to version, for tfjs and the backend package in use. */
  versions: Record<string, string>;
  /** Problems worth showing the user: fallbacks that auto took and slow configurations. */
  warnings: string[];
  /** Whether the same inputs and seed give bitwise identical results on the same machine. */
  deterministic: boolean;
  /** The reason for `deterministic`: threading and the order of summation of the backend. */
  note: string;
  /** The native matrix library of the wasm backend's heavy kernels (the config's `blas`). */
  blas: BlasInfo;
}

/** Whether the wasm backend's convolutions and matrix products run on OpenBLAS, and why not. */
export interface BlasInfo {
  setting: BlasSetting;
  active: boolean;
  /** The loaded shared library, or null when inactive. */
  library: string | null;
  /** OpenBLAS's build configuration (openblas_get_config), or null when inactive. */
  config: string | null;
  threading: BlasThreading | null;
  /** The maximum number of OpenBLAS threads per tfjs thread: 1 when inactive or for the OpenMP build. */
  maxThreads: number;
  /** The reason that it is inactive, or null when active. */
  reason: string | null;
}

/** The OpenBLAS setting, and hooks that let tests replace the environment probes. */
export interface SelectBackendOptions {
  /** Imports an optional backend package; the default is a dynamic import(). */
  importPackage?: (specifier: string) => Promise<unknown>;
  /** Returns whether an NVIDIA GPU is present; the default checks the driver's device files. */
  hasGpu?: () => boolean;
  /** The config's `blas`: whether the wasm backend's heavy kernels run on OpenBLAS. Default 'auto'. */
  blas?: BlasSetting;
  /** Loads OpenBLAS; the default is loadNativeBlas, which allows up to one thread per core. */
  loadBlas?: () => NativeBlasStatus;
}

/** A backend that selectBackend can activate: its name, its tfjs backend name and its package. */
interface BackendCandidate {
  name: ResolvedBackendName;
  tfjsBackend: string;
  /** The npm package that provides it, or null for the cpu backend that @tensorflow/tfjs contains. */
  packageName: string | null;
}

const CANDIDATES: Record<ResolvedBackendName, BackendCandidate> = {
  'tensorflow-gpu': { name: 'tensorflow-gpu', tfjsBackend: 'tensorflow', packageName: '@tensorflow/tfjs-node-gpu' },
  tensorflow: { name: 'tensorflow', tfjsBackend: 'tensorflow', packageName: '@tensorflow/tfjs-node' },
  wasm: { name: 'wasm', tfjsBackend: 'wasm', packageName: '@tensorflow/tfjs-backend-wasm' },
  cpu: { name: 'cpu', tfjsBackend: 'cpu', packageName: null },
};

/** The order that 'auto' tries. */
const AUTO_ORDER: readonly ResolvedBackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * The reason that a backend is unavailable, and the user's fix. `skipQuietly` marks a routine absence
 * (the optional package is not installed) that auto skips without a warning.
 */
class BackendUnavailableError extends Error {
  constructor(
    readonly backend: ResolvedBackendName,
    readonly reason: string,
    readonly fix: string,
    readonly skipQuietly: boolean,
  ) {
    super(`${reason} ${fix}`);
  }
}

const require = createRequire(import.meta.url);

/** Returns the installed version of a package from its package.json, or undefined when that is unreadable. */
function packageVersion(packageName: string): string | undefined {
  try {
    return (require(`${packageName}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Returns whether an NVIDIA GPU is visible: a GPU entry of the kernel driver, or its first device file. */
function hasNvidiaGpu(): boolean {
  try {
    if (readdirSync('/proc/driver/nvidia/gpus').length > 0) return true;
  } catch {
    // No NVIDIA driver loaded, or /proc is not mounted.
  }
  return existsSync('/dev/nvidia0');
}

/** Returns whether an import failed because the package itself is missing, not while loading it. */
function isModuleNotFound(error: unknown, packageName: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(packageName);
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Imports the package of a node (libtensorflow) backend, which registers the 'tensorflow' backend. These
 * packages are optional because their install step downloads libtensorflow.
 */
async function importNodeBackend(
  candidate: BackendCandidate,
  importPackage: (specifier: string) => Promise<unknown>,
): Promise<void> {
  const packageName = candidate.packageName as string;
  const otherBackends = candidate.name === 'tensorflow-gpu' ? '`backend: tensorflow`, `backend: wasm`' : '`backend: wasm`';
  // libtensorflow logs CPU feature notices to stderr unless TF_CPP_MIN_LOG_LEVEL is 2 or more.
  // A value that the user set is kept.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  try {
    await importPackage(packageName);
  } catch (error) {
    if (isModuleNotFound(error, packageName)) {
      throw new BackendUnavailableError(
        candidate.name,
        `Backend ${candidate.name} is not available: the package ${packageName} is not installed.`,
        `Run \`npm install ${packageName}@${tf.version.tfjs}\` on a machine with network access ` +
          `(its install downloads libtensorflow), or set ${otherBackends} or \`backend: auto\` in the config.`,
        true,
      );
    }
    throw new BackendUnavailableError(
      candidate.name,
      `Backend ${candidate.name} is not available: loading ${packageName} failed: ${describeError(error)}`,
      `Reinstall it with \`npm rebuild ${packageName}\`, or set ${otherBackends} in the config.`,
      false,
    );
  }
}

/**
 * Calls a registered backend's factory directly to learn why tf.setBackend failed, because tfjs only logs
 * that reason and production mode silences the log.
 */
async function diagnoseInitialisationFailure(tfjsBackend: string): Promise<string> {
  const factory = tf.findBackendFactory(tfjsBackend);
  if (factory == null) return `no backend named '${tfjsBackend}' is registered`;
  try {
    const backend = await factory();
    backend.dispose();
    return 'it failed once and succeeded on a second attempt';
  } catch (error) {
    return describeError(error);
  }
}

/** Makes `candidate` the active tfjs backend and returns warnings about it, or throws BackendUnavailableError. */
async function activate(candidate: BackendCandidate, options: Required<SelectBackendOptions>): Promise<string[]> {
  const warnings: string[] = [];
  if (candidate.name === 'tensorflow-gpu') {
    if (!options.hasGpu()) {
      // Without the package, a missing GPU is the normal case and 'auto' moves on without a warning.
      const installed = packageVersion(candidate.packageName as string) != null;
      throw new BackendUnavailableError(
        candidate.name,
        'Backend tensorflow-gpu is not available: no NVIDIA GPU was found (checked /proc/driver/nvidia/gpus and /dev/nvidia0).',
        'Run on a machine with an NVIDIA GPU and its driver, or set `backend: tensorflow` or `backend: wasm` in the config.',
        !installed,
      );
    }
    await importNodeBackend(candidate, options.importPackage);
  } else if (candidate.name === 'tensorflow') {
    await importNodeBackend(candidate, options.importPackage);
  } else if (candidate.name === 'wasm') {
    try {
      const kernels = await import('./wasm-kernels.ts');
      kernels.registerWasmTrainingKernels();
    } catch (error) {
      throw new BackendUnavailableError(
        candidate.name,
        `Backend wasm is not available: loading @tensorflow/tfjs-backend-wasm failed: ${describeError(error)}`,
        'Reinstall the dependencies with `npm ci`, or set `backend: cpu` in the config.',
        false,
      );
    }
    // The threaded build starts its thread workers from a Blob URL, which Node's Worker rejects, so the
    // single-threaded build is forced. tfjs-backend-wasm 4.22.0 already reports no thread support when
    // its IS_NODE flag is true, and setting the flag keeps it so if that detection ever misses.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) {
      warnings.push('This JavaScript engine has no WebAssembly SIMD, so the wasm backend runs its slower scalar build.');
    }
  }

  if (tf.findBackendFactory(candidate.tfjsBackend) == null) {
    throw new BackendUnavailableError(
      candidate.name,
      `Backend ${candidate.name} is not available: its package did not register the tfjs backend '${candidate.tfjsBackend}'.`,
      'Check that its version matches @tensorflow/tfjs ' + tf.version.tfjs + '.',
      false,
    );
  }

  // tf.setBackend returns false when initialisation fails, and tfjs then quietly falls back to another
  // backend on the next operation, so both the result and the active name are checked.
  const succeeded = await tf.setBackend(candidate.tfjsBackend);
  if (!succeeded || tf.getBackend() !== candidate.tfjsBackend) {
    const reason = succeeded
      ? `tfjs reports '${tf.getBackend()}' as active`
      : await diagnoseInitialisationFailure(candidate.tfjsBackend);
    const fix =
      candidate.name === 'cpu'
        ? 'Reinstall the dependencies with `npm ci`.'
        : 'Set another backend in the config, for example `backend: wasm` or `backend: cpu`.';
    throw new BackendUnavailableError(candidate.name, `Backend ${candidate.name} failed to initialise: ${reason}.`, fix, false);
  }
  return warnings;
}

function collectVersions(candidate: BackendCandidate): Record<string, string> {
  const versions: Record<string, string> = { tfjs: tf.version.tfjs, 'tfjs-core': tf.version['tfjs-core'] };
  if (candidate.packageName != null) {
    const version = packageVersion(candidate.packageName);
    if (version != null) versions[candidate.packageName.replace('@tensorflow/', '')] = version;
  }
  return versions;
}

function describeDeterminism(name: ResolvedBackendName, blas: BlasInfo): { deterministic: boolean; note: string } {
  switch (name) {
    case 'wasm':
      if (blas.active) {
        return {
          deterministic: true,
          note:
            'The wasm backend runs its convolutions and matrix products in OpenBLAS and its other kernels ' +
            'single-threaded. OpenBLAS repeated its results bitwise in tandem\'s tests for a fixed number of ' +
            'threads; a different number of threads, or XNNPACK, can change the last bits.',
        };
      }
      return {
        deterministic: true,
        note:
          'The wasm backend runs single-threaded XNNPACK and JavaScript kernels with a fixed order of summation.',
      };
    case 'cpu':
      return {
        deterministic: true,
        note: 'The cpu backend runs single-threaded JavaScript kernels with a fixed order of summation.',
      };
    case 'tensorflow':
      return {
        deterministic: false,
        note:
          'TensorFlow does not guarantee bitwise reproducible results from its multi-threaded CPU kernels without its op determinism mode.',
      };
    case 'tensorflow-gpu':
      return {
        deterministic: false,
        note:
          'cuDNN may pick non-deterministic algorithms and GPU reductions use atomic additions, so results can vary between runs.',
      };
  }
}

/**
 * Registers the OpenBLAS kernels on the wasm backend when `options.blas` requests them and the library
 * loads, with one OpenBLAS thread (setBlasThreads changes that), and removes them otherwise. Returns
 * the outcome and, when `blas: openblas` could not be honoured, a warning.
 */
async function configureBlas(
  name: ResolvedBackendName,
  options: Required<SelectBackendOptions>,
): Promise<{ info: BlasInfo; warning: string | null }> {
  const setting = options.blas;
  const inactive = (reason: string): BlasInfo => ({
    setting,
    active: false,
    library: null,
    config: null,
    threading: null,
    maxThreads: 1,
    reason,
  });
  if (name !== 'wasm') return { info: inactive(`The ${name} backend does not use it.`), warning: null };
  const kernels = await import('./wasm-blas-kernels.ts');
  if (setting === 'off') {
    kernels.unregisterBlasKernels();
    return { info: inactive('The config sets `blas: off`.'), warning: null };
  }

  const status = options.loadBlas();
  if (!status.available) {
    kernels.unregisterBlasKernels();
    // With auto, a missing OpenBLAS is routine, except where the user named a library explicitly.
    const named = Boolean(process.env[BLAS_LIBRARY_VARIABLE]);
    const fix = 'Fix the path, install it with `apt-get install libopenblas0-pthread`, or set `blas: off`.';
    const warning =
      setting === 'openblas' || named
        ? `${setting === 'openblas' ? '`blas: openblas`' : 'OpenBLAS'} is not available, so the wasm backend runs XNNPACK: ${status.reason} ${fix}`
        : null;
    return { info: inactive(status.reason), warning };
  }
  const { blas } = status;
  blas.setThreads(1);
  kernels.registerBlasKernels(blas);
  const info: BlasInfo = {
    setting,
    active: true,
    library: blas.library,
    config: blas.config,
    threading: blas.threading,
    maxThreads: blas.maxThreads,
    reason: null,
  };
  return { info, warning: null };
}

/**
 * Sets the number of OpenBLAS threads of the wasm backend's kernels, clamped to what the library allows,
 * and returns the number set; 0 when the OpenBLAS kernels are not registered.
 */
export async function setBlasThreads(threads: number): Promise<number> {
  const kernels = await import('./wasm-blas-kernels.ts');
  const blas = kernels.registeredBlas();
  return blas == null ? 0 : blas.setThreads(threads);
}

/**
 * Selects, initialises and returns the tfjs backend for `requested`. 'auto' takes the first available of
 * tensorflow-gpu (@tensorflow/tfjs-node-gpu installed and an NVIDIA GPU present), tensorflow
 * (@tensorflow/tfjs-node installed), wasm and cpu. An explicit request for an unavailable backend throws
 * a TandemError that names the fix. When wasm is selected, the project's training kernels are registered,
 * and the OpenBLAS kernels on top of them when `options.blas` is not 'off' and OpenBLAS loads.
 *
 * Also switches tfjs to production mode (tf.enableProdMode). In tfjs 4.22.0 that flag only silences the
 * console notices of tfjs, so the library prints nothing and returns what matters in `warnings`.
 */
export async function selectBackend(requested: BackendName, options: SelectBackendOptions = {}): Promise<BackendInfo> {
  tf.enableProdMode();
  const resolvedOptions: Required<SelectBackendOptions> = {
    importPackage: options.importPackage ?? ((specifier) => import(specifier)),
    hasGpu: options.hasGpu ?? hasNvidiaGpu,
    blas: options.blas ?? 'auto',
    loadBlas: options.loadBlas ?? (() => loadNativeBlas(availableParallelism())),
  };
  const order = requested === 'auto' ? AUTO_ORDER : [requested];
  const warnings: string[] = [];

  for (const name of order) {
    const candidate = CANDIDATES[name];
    try {
      warnings.push(...(await activate(candidate, resolvedOptions)));
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      if (requested !== 'auto') throw new TandemError(error.message, { cause: error });
      if (!error.skipQuietly) warnings.push(`${error.reason} \`backend: auto\` moved on to the next backend.`);
      continue;
    }

    if (name === 'cpu') {
      warnings.push(
        requested === 'auto'
          ? 'Fell back to the pure JavaScript cpu backend, which trains much slower than wasm.'
          : 'The pure JavaScript cpu backend trains much slower than wasm.',
      );
    }
    const blas = await configureBlas(name, resolvedOptions);
    if (blas.warning != null) warnings.push(blas.warning);
    return {
      name,
      tfjsBackend: tf.getBackend(),
      versions: collectVersions(candidate),
      warnings,
      ...describeDeterminism(name, blas.info),
      blas: blas.info,
    };
  }
  // The cpu backend ships with @tensorflow/tfjs, so auto only gets here when even that failed.
  throw new TandemError(`No tfjs backend could be initialised. ${warnings.join(' ')}`);
}
