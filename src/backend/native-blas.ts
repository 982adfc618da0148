/**
 * Loads OpenBLAS through the optional npm package koffi (a foreign function interface), so that the
 * heavy kernels of the wasm backend can run float32 matrix products natively on the wasm heap. Both
 * are optional: without koffi or without the library, loadNativeBlas reports why, and the wasm
 * backend keeps its XNNPACK kernels.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Environment variable that names the OpenBLAS shared library to load, ahead of the known paths. */
export const BLAS_LIBRARY_VARIABLE = 'TANDEM_BLAS_LIBRARY';

/**
 * The paths where Debian and Ubuntu install OpenBLAS (packages libopenblas0-pthread and libopenblas0-openmp),
 * in the order tried. The pthread build comes first because the OpenMP build crashes at process exit
 * when it ran more than one thread (see maxThreadsOf).
 */
const KNOWN_LIBRARY_PATHS: readonly string[] = ['x86_64-linux-gnu', 'aarch64-linux-gnu'].flatMap((triplet) => [
  `/usr/lib/${triplet}/openblas-pthread/libopenblas.so.0`,
  `/usr/lib/${triplet}/openblas-openmp/libopenblas.so.0`,
  `/usr/lib/${triplet}/libopenblas.so.0`,
]);

/** CBLAS constants (cblas.h). */
const CBLAS_ROW_MAJOR = 101;
const CBLAS_NO_TRANS = 111;
const CBLAS_TRANS = 112;

/** The threading model of the library build, from openblas_get_parallel. */
export type BlasThreading = 'sequential' | 'pthread' | 'openmp';

/** A loaded OpenBLAS: row-major float32 GEMM on typed arrays, which it reads and writes in place. */
export interface NativeBlas {
  /** The path of the loaded shared library. */
  library: string;
  /** The library's build configuration (openblas_get_config), for example "OpenBLAS 0.3.21 DYNAMIC_ARCH ... SkylakeX". */
  config: string;
  threading: BlasThreading;
  /** The maximum number of threads that setThreads accepts for this build. */
  maxThreads: number;
  /**
   * C = alpha op(A) op(B) + beta C with op(A) m x k and op(B) k x n, all row-major. Each array starts
   * at the matrix's first element; lda, ldb and ldc are row strides in elements.
   */
  sgemm(
    transposeA: boolean,
    transposeB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /**
   * Sets the number of threads of later calls, clamped to 1..maxThreads, and returns the number set. The
   * setting is process-wide (openblas_set_num_threads), so it applies to calls from every worker thread.
   */
  setThreads(threads: number): number;
  /** The number of threads that calls use now. */
  threads(): number;
}

/** The outcome of loadNativeBlas. */
export type NativeBlasStatus = { available: true; blas: NativeBlas } | { available: false; reason: string };

/** The parts of koffi that this module uses. */
interface Koffi {
  load(path: string): { func(definition: string): (...args: unknown[]) => unknown };
}

let loaded: NativeBlasStatus | undefined;

/** Returns the library path to load: the environment variable when set, else the first known path present. */
export function findBlasLibrary(): { path: string } | { reason: string } {
  const requested = process.env[BLAS_LIBRARY_VARIABLE];
  if (requested != null && requested !== '') {
    if (!existsSync(requested)) return { reason: `${BLAS_LIBRARY_VARIABLE} is ${requested}, which does not exist.` };
    return { path: requested };
  }
  const found = KNOWN_LIBRARY_PATHS.find((path) => existsSync(path));
  if (found == null) {
    return {
      reason:
        'OpenBLAS was not found. Install it with `apt-get install libopenblas0-pthread`, or set ' +
        `${BLAS_LIBRARY_VARIABLE} to the path of libopenblas.so.0.`,
    };
  }
  return { path: found };
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Returns the maximum number of threads that a build may use. NOTE: Debian's OpenMP build (libopenblas0-openmp
 * 0.3.21) makes Node.js 20 crash with a segmentation fault at process exit once it ran two threads,
 * also in worker threads and also after openblas_set_num_threads(1). So that build runs one thread.
 */
function maxThreadsOf(threading: BlasThreading, cores: number): number {
  return threading === 'pthread' ? cores : 1;
}

/**
 * Loads koffi and OpenBLAS on the first call and returns the library or the reason that it is
 * unavailable; later calls return the same outcome. The library starts with one thread.
 */
export function loadNativeBlas(cores: number): NativeBlasStatus {
  loaded ??= tryLoad(cores);
  return loaded;
}

function tryLoad(cores: number): NativeBlasStatus {
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (error) {
    const code = (error as { code?: string } | null)?.code;
    if (code === 'MODULE_NOT_FOUND') {
      return { available: false, reason: 'The optional package koffi is not installed (`npm install` installs it).' };
    }
    return { available: false, reason: `Loading the package koffi failed: ${describeError(error)}` };
  }

  const found = findBlasLibrary();
  if ('reason' in found) return { available: false, reason: found.reason };

  try {
    const library = koffi.load(found.path);
    const sgemm = library.func(
      'void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, void *a, int lda, ' +
        'void *b, int ldb, float beta, void *c, int ldc)',
    );
    const setNumThreads = library.func('void openblas_set_num_threads(int threads)');
    const getNumThreads = library.func('int openblas_get_num_threads()');
    const getParallel = library.func('int openblas_get_parallel()');
    const getConfig = library.func('const char *openblas_get_config()');

    const parallel = getParallel() as number;
    let threading: BlasThreading = 'sequential';
    if (parallel === 1) threading = 'pthread';
    if (parallel === 2) threading = 'openmp';
    const maxThreads = maxThreadsOf(threading, Math.max(1, cores));
    setNumThreads(1);

    const blas: NativeBlas = {
      library: found.path,
      config: String(getConfig()).trim(),
      threading,
      maxThreads,
      sgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
        sgemm(
          CBLAS_ROW_MAJOR,
          transposeA ? CBLAS_TRANS : CBLAS_NO_TRANS,
          transposeB ? CBLAS_TRANS : CBLAS_NO_TRANS,
          m,
          n,
          k,
          alpha,
          a,
          lda,
          b,
          ldb,
          beta,
          c,
          ldc,
        );
      },
      setThreads(threads) {
        const count = Math.max(1, Math.min(Math.floor(threads), maxThreads));
        setNumThreads(count);
        return count;
      },
      threads() {
        return getNumThreads() as number;
      },
    };
    return { available: true, blas };
  } catch (error) {
    return { available: false, reason: `Loading OpenBLAS from ${found.path} failed: ${describeError(error)}` };
  }
}
