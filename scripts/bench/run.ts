/**
 * `npm run bench`: times a training step of the default TandemNet at several image and batch sizes, on
 * every available tfjs backend and in PyTorch on the CPU, taking turns. Then it times one epoch of the
 * default VQA-RAD experiment and writes the tables into BENCHMARKS.md between its generated-part markers.
 *
 * Every measurement runs in a child process of its own, so that one runner's memory and warm caches do
 * not leak into the next. The runners take turns in each round, so that a change in the machine's load
 * hits all of them alike.
 *
 * Options (npm run bench -- --sizes 64 --batches 8 ...):
 *   --sizes 224,112,64    image sides in pixels
 *   --batches 8,32        batch sizes
 *   --rounds 2            times each runner is measured per cell, alternating with the others
 *   --steps 3             timed steps per measurement, after --warmup untimed ones (default 1)
 *   --cpu-cells 64x8      cells that the pure-JavaScript cpu backend runs ('none' for none), in one round;
 *                         it is hundreds of times slower than wasm, so it skips the others
 *   --no-torch            skip PyTorch; --no-epoch skips the epoch; --no-write prints instead of writing
 *   --output BENCHMARKS.md
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { loadNativeBlas } from '../../src/backend/native-blas.ts';
import { countTrainingFlops } from './flops.ts';
import { formatReport, type CellResult, type EpochResult, type MachineInfo, type ReportInput, type RunnerCell } from './report.ts';
import { benchmarkConfig, REPORT_SENTENCE_LENGTHS, REPOSITORY_ROOT, stepOverrides } from './synthetic.ts';

const OPTIONS_HELP = 'The options are listed at the top of scripts/bench/run.ts.';

/** Ends the bench with exit code 2 and a one-line message about its command line. */
function usageError(message: string): never {
  process.stderr.write(`npm run bench: ${message} ${OPTIONS_HELP}\n`);
  process.exit(2);
}

function parseOptions() {
  try {
    return parseArgs({
  options: {
    sizes: { type: 'string', default: '224,112,64' },
    batches: { type: 'string', default: '8,32' },
    rounds: { type: 'string', default: '2' },
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    'cpu-cells': { type: 'string', default: '64x8' },
    'no-torch': { type: 'boolean', default: false },
    'no-epoch': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    output: { type: 'string', default: 'BENCHMARKS.md' },
  },
}).values;
  } catch (error) {
    return usageError((error as Error).message.split('. ')[0] + '.');
  }
}

const options = parseOptions();
const wholeNumbers = (name: 'sizes' | 'batches' | 'rounds' | 'steps' | 'warmup', minimum: number) => {
  const text = options[name]!;
  for (const item of text.split(',')) {
    const value = Number(item);
    if (!Number.isInteger(value) || value < minimum) usageError(`--${name} ${text}: each value must be a whole number of at least ${minimum}.`);
  }
};
wholeNumbers('sizes', 32);
wholeNumbers('batches', 1);
wholeNumbers('rounds', 1);
wholeNumbers('steps', 1);
wholeNumbers('warmup', 0);

/** Debian's OpenMP build of OpenBLAS, which python3-torch uses when it is first on the library path. */
const OPENBLAS_OPENMP = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
const TORCH_INSTALL_HINT = 'apt-get install python3-torch libopenblas0-openmp';
const TORCH_THREADS = 2;
/** A measurement that runs longer than this is stopped and reported as failed. */
const CHILD_TIMEOUT_MS = 20 * 60 * 1000;

/** One way of running a training step: a tfjs backend with a worker count, or PyTorch. */
interface Runner {
  id: string;
  label: string;
  /** Returns the command of one measurement, or null when this runner skips the cell. */
  command(size: number, batch: number): { file: string; args: string[]; env?: NodeJS.ProcessEnv } | null;
  skipReason?: (size: number, batch: number) => string;
  /** Rounds this runner takes part in, when fewer than --rounds: the slow cpu backend is measured once. */
  rounds?: number;
}

/** The JSON that tfjs-step.ts and torch_step.py print. */
interface StepOutput {
  stepMs: number[];
  peakRssBytes: number;
  workers?: number;
  shards?: number[];
}

function runChild(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: REPOSITORY_ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 2 ** 20, timeout: CHILD_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error) reject(Object.assign(error, { stdout, stderr }));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** Parses the last line of a child's output as JSON. */
function lastJsonLine<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}

/**
 * Describes why a child failed in one line: the first line of its error output that names an error (Node
 * prints the stack and then its own version), else the last line, else the exit.
 */
function describeFailure(error: unknown): string {
  if ((error as { killed?: boolean }).killed) return `timed out after ${CHILD_TIMEOUT_MS / 60000} min`;
  const lines = String((error as { stderr?: string }).stderr ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const errorLine = lines.find((line) => /error/i.test(line)) ?? lines.pop();
  return (errorLine ?? (error as Error).message).replace(/\|/g, '/').slice(0, 200);
}

/** Finds a Python interpreter that imports torch; returns it with torch's version, or the reason for none. */
async function findTorch(): Promise<{ python: string; version: string; env: NodeJS.ProcessEnv } | { missing: string }> {
  const env: NodeJS.ProcessEnv = existsSync(OPENBLAS_OPENMP) ? { LD_LIBRARY_PATH: [OPENBLAS_OPENMP, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {};
  // Debian's python3-torch installs for /usr/bin/python3, which a python3 earlier on PATH may shadow.
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      const { stdout } = await runChild(python, ['-c', 'import torch; print(torch.__version__)'], env);
      const version = stdout.trim();
      if (!existsSync(OPENBLAS_OPENMP)) {
        return { missing: `torch ${version} was found, but not Debian's OpenMP OpenBLAS (${OPENBLAS_OPENMP}); install it with \`${TORCH_INSTALL_HINT}\`` };
      }
      return { python, version, env };
    } catch {
      // Try the next interpreter.
    }
  }
  return { missing: `PyTorch was not found; on Debian install it with \`${TORCH_INSTALL_HINT}\`` };
}

/** Returns whether an optional tfjs-node package is installed. */
function isInstalled(packageName: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${packageName}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function machineInfo(): MachineInfo {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(' '));
  const features = ['avx2', 'fma', 'avx512f'].filter((flag) => flags.has(flag));
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    features,
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    loadBefore: os.loadavg(),
    loadAfter: os.loadavg(),
  };
}

/** Builds a tfjs runner. `blas` is the config's blas setting, which only the wasm backend reads. */
function tfjsRunner(
  backend: string,
  workers: string,
  label: string,
  cells: ((size: number, batch: number) => boolean) | null,
  rounds?: number,
  blas: 'off' | 'openblas' = 'off',
): Runner {
  return {
    id: `${backend}-${workers}-${blas}`,
    label,
    rounds,
    command(size, batch) {
      if (cells !== null && !cells(size, batch)) return null;
      const args = ['--import', 'tsx', 'scripts/bench/tfjs-step.ts', '--size', `${size}`, '--batch', `${batch}`, '--backend', backend];
      args.push('--workers', workers, '--blas', blas, '--steps', options.steps!, '--warmup', options.warmup!);
      return { file: process.execPath, args };
    },
    skipReason: (size: number, batch: number) =>
      options['cpu-cells'] === 'none' || (size === 64 && batch === 8)
        ? 'not run: left out with --cpu-cells'
        : 'not run: the pure-JavaScript cpu backend takes minutes per step at this size',
  };
}

async function main(): Promise<void> {
  const sizes = options.sizes!.split(',').map(Number);
  const batches = options.batches!.split(',').map(Number);
  const rounds = Number(options.rounds);
  const machine = machineInfo();
  const cpuCells = new Set(options['cpu-cells'] === 'none' ? [] : options['cpu-cells']!.split(','));
  const notes: string[] = [];

  // Without OpenBLAS, the default (`blas: auto`, `train.workers: auto`) is one XNNPACK worker per core.
  const blas = loadNativeBlas(machine.cores);
  const workers = Math.min(machine.cores, 8);
  const blasThreads = blas.available ? Math.min(machine.cores, blas.blas.maxThreads) : 1;
  const xnnpackIsDefault = !blas.available;
  const runners: Runner[] = [
    tfjsRunner('wasm', '1', 'tfjs wasm (XNNPACK), 1 worker', null),
    tfjsRunner('wasm', `${workers}`, `tfjs wasm (XNNPACK), ${workers} workers${xnnpackIsDefault ? ' (default)' : ''}`, null),
  ];
  if (blas.available) {
    runners.push(
      // Which of these two train.workers auto picks depends on the cell (see resolveWorkerCount).
      tfjsRunner('wasm', '1', `tfjs wasm + OpenBLAS, 1 worker, ${blasThreads} thread${blasThreads > 1 ? 's' : ''}`, null, undefined, 'openblas'),
      tfjsRunner('wasm', `${workers}`, `tfjs wasm + OpenBLAS, ${workers} workers, 1 thread each`, null, undefined, 'openblas'),
    );
  } else {
    notes.push(`OpenBLAS runners not run: ${blas.reason.replace(/\.$/, '')}`);
  }
  runners.push(tfjsRunner('cpu', '1', 'tfjs cpu', (size, batch) => cpuCells.has(`${size}x${batch}`), 1));
  for (const [backend, packageName] of [['tensorflow', '@tensorflow/tfjs-node'], ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu']] as const) {
    if (isInstalled(packageName)) runners.push(tfjsRunner(backend, '1', `tfjs ${backend}`, null));
  }
  let torchVersion: string | null = null;
  let gemmGflops: number | null = null;
  if (!options['no-torch']) {
    const torch = await findTorch();
    if ('missing' in torch) {
      notes.push(torch.missing);
      process.stderr.write(`${torch.missing}. Timing tfjs alone.\n`);
    } else {
      torchVersion = torch.version;
      const script = 'scripts/bench/torch_step.py';
      runners.push({
        id: 'torch',
        label: `PyTorch ${torch.version}, ${TORCH_THREADS} threads`,
        command(size, batch) {
          const args = [script, '--size', `${size}`, '--batch', `${batch}`, '--threads', `${TORCH_THREADS}`];
          args.push('--steps', options.steps!, '--warmup', options.warmup!, '--sentence-lengths', REPORT_SENTENCE_LENGTHS.join(','));
          return { file: torch.python, args, env: torch.env };
        },
      });
      const gemm = await runChild(torch.python, [script, '--gemm', '--threads', `${TORCH_THREADS}`], torch.env);
      gemmGflops = lastJsonLine<{ gflops: number }>(gemm.stdout).gflops;
    }
  }
  const wasmGemm = await runChild(process.execPath, ['--import', 'tsx', 'scripts/bench/tfjs-step.ts', '--gemm']);
  const wasmGemmGflops = lastJsonLine<{ gflops: number }>(wasmGemm.stdout).gflops;
  let blasGemm: ReportInput['blasGemm'] = null;
  if (blas.available) {
    const { stdout } = await runChild(process.execPath, ['--import', 'tsx', 'scripts/bench/tfjs-step.ts', '--gemm', '--blas', 'openblas']);
    blasGemm = { gflops: lastJsonLine<{ gflops: number }>(stdout).gflops, threads: blasThreads, library: blas.blas.library, config: blas.blas.config };
  }

  const cells: CellResult[] = [];
  for (const size of sizes) {
    for (const batch of batches) {
      const { config } = benchmarkConfig(stepOverrides(size, batch));
      const flops = countTrainingFlops({
        imageSize: size,
        depth: config.model.backbone.depth ?? 16,
        widenFactor: config.model.backbone.widenFactor ?? 4,
        embeddingSize: config.model.text.embeddingSize,
        hiddenSize: config.model.text.hiddenSize,
        attentionSize: config.model.attention.size,
        steps: REPORT_SENTENCE_LENGTHS.reduce((sum, length) => sum + length, 0),
        sentences: config.data.maxSentences,
        classes: 3,
      });
      const byRunner = new Map<string, RunnerCell>(
        runners.map((runner) => [runner.id, { runner: runner.id, label: runner.label, stepMs: [], peakRssBytes: 0 }]),
      );
      for (let round = 0; round < rounds; round++) {
        // Rotate the order every round so that no runner always follows the same one.
        const order = runners.map((_, index) => runners[(index + round) % runners.length]);
        for (const runner of order) {
          const cell = byRunner.get(runner.id)!;
          const command = runner.command(size, batch);
          if (command === null) {
            cell.skipped = runner.skipReason?.(size, batch) ?? 'not run';
            continue;
          }
          if (cell.failure !== undefined || round >= (runner.rounds ?? rounds)) continue;
          process.stderr.write(`${size}px batch ${batch}: ${runner.label}, round ${round + 1} of ${rounds}\n`);
          try {
            const { stdout } = await runChild(command.file, command.args, command.env);
            const output = lastJsonLine<StepOutput>(stdout);
            cell.stepMs.push(...output.stepMs);
            cell.peakRssBytes = Math.max(cell.peakRssBytes, output.peakRssBytes);
            if (output.shards !== undefined) cell.shards = output.shards;
          } catch (error) {
            cell.failure = describeFailure(error);
            process.stderr.write(`  failed: ${cell.failure}\n`);
          }
        }
      }
      cells.push({ size, batch, flopsPerSample: flops.total, runners: [...byRunner.values()] });
    }
  }

  let epoch: EpochResult | null = null;
  if (!options['no-epoch']) {
    process.stderr.write('one epoch of configs/vqa-rad.yaml\n');
    try {
      const { stdout } = await runChild(process.execPath, ['--import', 'tsx', 'scripts/bench/epoch.ts']);
      epoch = lastJsonLine<EpochResult>(stdout);
    } catch (error) {
      notes.push(`The epoch of configs/vqa-rad.yaml was not timed: ${describeFailure(error)}`);
    }
  }

  machine.loadAfter = os.loadavg();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const generated = formatReport({ machine, command, cells, epoch, gemmGflops, wasmGemmGflops, blasGemm, torchVersion, torchThreads: TORCH_THREADS, notes, date: new Date() });
  if (options['no-write']) {
    process.stdout.write(`${generated}\n`);
    return;
  }
  const output = path.resolve(REPOSITORY_ROOT, options.output!);
  writeFileSync(output, replaceGeneratedPart(existsSync(output) ? readFileSync(output, 'utf8') : '', generated));
  process.stderr.write(`Wrote ${path.relative(process.cwd(), output)}.\n`);
}

const START_MARKER = '<!-- generated by npm run bench: start -->';
const END_MARKER = '<!-- generated by npm run bench: end -->';

/** Puts `generated` between the markers of `document`, or appends both to it when it has none. */
function replaceGeneratedPart(document: string, generated: string): string {
  const block = `${START_MARKER}\n${generated}\n${END_MARKER}`;
  const start = document.indexOf(START_MARKER);
  const end = document.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) return `${document.trimEnd()}${document.trim() ? '\n\n' : ''}${block}\n`;
  return `${document.slice(0, start)}${block}${document.slice(end + END_MARKER.length)}`;
}

await main();
