/**
 * The Markdown that `npm run bench` writes into BENCHMARKS.md: the machine, the command, the step table
 * with each runner's speed relative to PyTorch and its share of the GEMM rate, and the epoch.
 */

export interface MachineInfo {
  cpu: string;
  cores: number;
  /** The CPU features that matter for float32 kernels, among avx2, fma and avx512f. */
  features: string[];
  memoryGiB: number;
  node: string;
  /** os.loadavg() at the start and the end of the run. */
  loadBefore: number[];
  loadAfter: number[];
}

/** One runner's measurements in one cell. */
export interface RunnerCell {
  runner: string;
  label: string;
  /** Every timed step of every round. */
  stepMs: number[];
  peakRssBytes: number;
  /** The shard sizes that a tfjs runner split the batch into. */
  shards?: number[];
  skipped?: string;
  failure?: string;
}

/** The measurements at one image size and batch size. */
export interface CellResult {
  size: number;
  batch: number;
  /** From countTrainingFlops. */
  flopsPerSample: number;
  runners: RunnerCell[];
}

/** The result that scripts/bench/epoch.ts prints. */
export interface EpochResult {
  backend: string;
  /** Whether the wasm backend's heavy kernels ran on OpenBLAS; absent in results of older checkouts. */
  blas?: boolean;
  workers: number;
  imageSize: number;
  batchSize: number;
  trainSamples: number;
  validationSamples: number;
  loadSeconds: number;
  epochSeconds: number;
  stepSeconds: number;
  batchBuildSeconds: number;
  peakRssBytes: number;
}

export interface ReportInput {
  machine: MachineInfo;
  command: string;
  cells: CellResult[];
  epoch: EpochResult | null;
  /** PyTorch's float32 matrix product rate on TORCH_THREADS threads, GFLOP/s; null without PyTorch. */
  gemmGflops: number | null;
  /** XNNPACK's float32 matrix product rate in one wasm thread, GFLOP/s. */
  wasmGemmGflops: number;
  /** tf.matMul's rate on the wasm backend's OpenBLAS kernel, and the library; null without OpenBLAS. */
  blasGemm: { gflops: number; threads: number; library: string; config: string } | null;
  torchVersion: string | null;
  torchThreads: number;
  notes: string[];
  date: Date;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function formatLoad(load: number[]): string {
  return load.map((value) => value.toFixed(2)).join(', ');
}

/** Formats a positive number with `digits` significant digits, and at least one decimal. */
function significant(value: number, digits: number): string {
  if (value >= 10 ** (digits - 1)) return value.toFixed(1);
  return value.toPrecision(digits);
}

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** Renders the machine, the command and the reference rates as a list. */
function formatSetup(input: ReportInput): string[] {
  const { machine, gemmGflops } = input;
  const lines = [`Measured on ${input.date.toISOString().slice(0, 10)} with \`${input.command}\`.`, ''];
  lines.push(
    `- Machine: ${machine.cpu}, ${machine.cores} cores (${machine.features.join(', ') || 'no AVX'}), ` +
      `${machine.memoryGiB.toFixed(0)} GiB, Node.js ${machine.node}.`,
  );
  lines.push(`- Load average (1, 5, 15 min): ${formatLoad(machine.loadBefore)} at the start, ${formatLoad(machine.loadAfter)} at the end.`);
  lines.push(
    gemmGflops === null
      ? '- Float32 GEMM rate: not measured (no PyTorch).'
      : `- Float32 GEMM rate: ${gemmGflops.toFixed(0)} GFLOP/s (PyTorch ${input.torchVersion} with OpenBLAS, ${input.torchThreads} threads, 2048 x 2048 products).`,
  );
  lines.push(`- XNNPACK's float32 GEMM in one wasm thread: ${input.wasmGemmGflops.toFixed(0)} GFLOP/s (1024 x 1024 products).`);
  if (input.blasGemm !== null) {
    const { gflops, threads, library, config } = input.blasGemm;
    lines.push(
      `- OpenBLAS kernels of the wasm backend: ${config} from ${library}; tf.matMul on them reached ` +
        `${gflops.toFixed(0)} GFLOP/s with ${threads} threads (1024 x 1024 products).`,
    );
  }
  for (const note of input.notes) lines.push(`- ${note}.`);
  return lines;
}

/** Renders one table row per runner and cell. */
function formatStepTable(cells: readonly CellResult[], gemmGflops: number | null): string[] {
  const lines = [
    'Median step time per sample, the rate that it gives by the analytic operation count of scripts/bench/flops.ts, ' +
      'that rate as a share of the float32 GEMM rate above, the speed relative to PyTorch (its time divided by ' +
      "the runner's: 1 is as fast, 0.5 half as fast) and the peak resident memory of the process.",
    '',
    '| size | batch | runner | ms/sample | GFLOP/s | share of GEMM rate | speed vs PyTorch | peak memory |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const cell of cells) {
    const torch = cell.runners.find((runner) => runner.runner === 'torch');
    const torchMs = torch && torch.stepMs.length > 0 ? median(torch.stepMs) : null;
    for (const runner of cell.runners) {
      const prefix = `| ${cell.size} | ${cell.batch} | ${runner.label} |`;
      if (runner.stepMs.length === 0) {
        const reason = runner.failure !== undefined ? `failed: ${runner.failure}` : (runner.skipped ?? 'not run');
        lines.push(`${prefix} ${reason} | | | | |`);
        continue;
      }
      const stepMs = median(runner.stepMs);
      const perSample = stepMs / cell.batch;
      const gflops = (cell.flopsPerSample * cell.batch) / (stepMs / 1000) / 1e9;
      const share = gemmGflops === null ? '' : `${significant((100 * gflops) / gemmGflops, 2)}%`;
      const speed = torchMs === null ? '' : significant(torchMs / stepMs, 2);
      const shards = runner.shards !== undefined && runner.shards.length > 1 ? ` (shards ${runner.shards.join('+')})` : '';
      lines.push(`${prefix} ${perSample.toFixed(1)}${shards} | ${significant(gflops, 3)} | ${share} | ${speed} | ${mebibytes(runner.peakRssBytes)} |`);
    }
  }
  const sizes = cells.filter((cell, index) => cells.findIndex((other) => other.size === cell.size) === index);
  lines.push('');
  lines.push(
    'Each step trains the default model (WRN16-4, LSTM K = 128 and D = 256, dual attention M = 256, 3 classes) with text on ' +
      "random images whose reports have 7 sentences and 66 tokens, VQA-RAD's median. Operations per sample: " +
      sizes.map((cell) => `${(cell.flopsPerSample / 1e9).toFixed(2)} GFLOP at ${cell.size}`).join(', ') +
      '.',
  );
  return lines;
}

/** Renders the epoch's table. */
function formatEpoch(epoch: EpochResult): string[] {
  const share = (seconds: number) => `${((100 * seconds) / epoch.epochSeconds).toFixed(1)}%`;
  const msPerSample = (1000 * epoch.stepSeconds) / epoch.trainSamples;
  return [
    `One epoch of configs/vqa-rad.yaml (${epoch.imageSize} pixels, batch ${epoch.batchSize}, backend ${epoch.backend}${epoch.blas ? ' with OpenBLAS' : ''}, ${epoch.workers} ${epoch.workers === 1 ? 'worker' : 'workers'}):`,
    '',
    '| part | seconds | share of the epoch |',
    '| --- | --- | --- |',
    `| whole epoch: ${epoch.trainSamples} training samples, then validation of ${epoch.validationSamples} without and with text | ${epoch.epochSeconds.toFixed(1)} | 100% |`,
    `| training steps, batches included (${msPerSample.toFixed(1)} ms per sample) | ${epoch.stepSeconds.toFixed(1)} | ${share(epoch.stepSeconds)} |`,
    `| building the batches (crop, augmentation, tokens): the data loading of every epoch | ${epoch.batchBuildSeconds.toFixed(2)} | ${share(epoch.batchBuildSeconds)} |`,
    `| loading the data set once per run (decoding, or reading the image cache) | ${epoch.loadSeconds.toFixed(1)} | before the first epoch |`,
  ];
}

/** Renders the generated part of BENCHMARKS.md. */
export function formatReport(input: ReportInput): string {
  const sections = [formatSetup(input), formatStepTable(input.cells, input.gemmGflops)];
  if (input.epoch !== null) sections.push(formatEpoch(input.epoch));
  return sections.map((lines) => lines.join('\n')).join('\n\n');
}
