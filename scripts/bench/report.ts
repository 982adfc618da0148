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

/** What scripts/bench/epoch.ts prints. */
export interface EpochResult {
  backend: string;
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

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** Renders the generated part of BENCHMARKS.md. */
export function formatReport(input: ReportInput): string {
  const { machine, cells, gemmGflops } = input;
  const lines: string[] = [];
  lines.push(`Measured on ${input.date.toISOString().slice(0, 10)} with \`${input.command}\`.`);
  lines.push('');
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
  for (const note of input.notes) lines.push(`- ${note}.`);
  lines.push('');
  lines.push(
    'Median step time per sample, the rate that it gives by the analytic operation count of scripts/bench/flops.ts, ' +
      'that rate as a share of the float32 GEMM rate above, the speed relative to PyTorch (its time divided by ' +
      'the runner\'s: 1 is as fast, 0.5 half as fast) and the peak resident memory of the process.',
  );
  lines.push('');
  lines.push('| size | batch | runner | ms/sample | GFLOP/s | share of GEMM rate | speed vs PyTorch | peak memory |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const cell of cells) {
    const torch = cell.runners.find((runner) => runner.runner === 'torch');
    const torchMs = torch && torch.stepMs.length > 0 ? median(torch.stepMs) : null;
    for (const runner of cell.runners) {
      const prefix = `| ${cell.size} | ${cell.batch} | ${runner.label} |`;
      if (runner.stepMs.length === 0) {
        lines.push(`${prefix} ${runner.failure !== undefined ? `failed: ${runner.failure}` : (runner.skipped ?? 'not run')} | | | | |`);
        continue;
      }
      const stepMs = median(runner.stepMs);
      const perSample = stepMs / cell.batch;
      const gflops = (cell.flopsPerSample * cell.batch) / (stepMs / 1000) / 1e9;
      const share = gemmGflops === null ? '' : `${((100 * gflops) / gemmGflops).toFixed(0)}%`;
      const speed = torchMs === null ? '' : (torchMs / stepMs).toFixed(2);
      const shards = runner.shards !== undefined && runner.shards.length > 1 ? ` (shards ${runner.shards.join('+')})` : '';
      lines.push(`${prefix} ${perSample.toFixed(1)}${shards} | ${gflops.toFixed(1)} | ${share} | ${speed} | ${mebibytes(runner.peakRssBytes)} |`);
    }
  }
  lines.push('');
  lines.push(
    `Each step trains the default model (WRN16-4, LSTM K = 128 and D = 256, dual attention M = 256, 3 classes) with text on ` +
      `random images whose reports have 7 sentences and 66 tokens, VQA-RAD's median. Operations per sample: ` +
      cells
        .filter((cell, index) => cells.findIndex((other) => other.size === cell.size) === index)
        .map((cell) => `${(cell.flopsPerSample / 1e9).toFixed(2)} GFLOP at ${cell.size}`)
        .join(', ') +
      '.',
  );
  if (input.epoch !== null) {
    const epoch = input.epoch;
    const buildShare = (100 * epoch.batchBuildSeconds) / epoch.epochSeconds;
    lines.push('');
    lines.push(`One epoch of configs/vqa-rad.yaml (${epoch.imageSize} pixels, batch ${epoch.batchSize}, backend ${epoch.backend}, ${epoch.workers} workers):`);
    lines.push('');
    lines.push('| part | seconds | share of the epoch |');
    lines.push('| --- | --- | --- |');
    lines.push(`| whole epoch: ${epoch.trainSamples} training samples, then validation of ${epoch.validationSamples} without and with text | ${epoch.epochSeconds.toFixed(1)} | 100% |`);
    lines.push(`| training steps, batches included (${((1000 * epoch.stepSeconds) / epoch.trainSamples).toFixed(1)} ms per sample) | ${epoch.stepSeconds.toFixed(1)} | ${((100 * epoch.stepSeconds) / epoch.epochSeconds).toFixed(0)}% |`);
    lines.push(`| building the batches (crop, augmentation, tokens): the data loading of every epoch | ${epoch.batchBuildSeconds.toFixed(2)} | ${buildShare.toFixed(1)}% |`);
    lines.push(`| loading the data set once per run (decoding, or reading the image cache) | ${epoch.loadSeconds.toFixed(1)} | before the first epoch |`);
  }
  return lines.join('\n');
}
