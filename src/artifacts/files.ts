/**
 * The files of a run folder, named in one place, and the atomic writes that create them.
 */
import { mkdirSync, renameSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { TandemError } from '../errors.ts';

/** Every file a run writes, with what it contains. */
export const RUN_FILES = {
  config: { name: 'config.yaml', description: 'the fully resolved config, defaults included' },
  run: { name: 'run.json', description: 'provenance and status: seed, backend, versions, times, sample counts' },
  split: { name: 'split.csv', description: 'every image with its patient, label and split' },
  history: { name: 'history.json', description: 'per-epoch training loss and accuracy, validation metrics, seconds' },
  historyCsv: { name: 'history.csv', description: 'the same history as a table' },
  metrics: { name: 'metrics.json', description: 'test accuracy without and with text, best epoch' },
  confusionWithoutText: { name: 'confusion-without-text.json', description: 'test confusion matrix without text: counts and row rates' },
  confusionWithoutTextCsv: { name: 'confusion-without-text.csv', description: 'the same matrix as a table' },
  confusionWithText: { name: 'confusion-with-text.json', description: 'test confusion matrix with text: counts and row rates' },
  confusionWithTextCsv: { name: 'confusion-with-text.csv', description: 'the same matrix as a table' },
  predictions: { name: 'predictions.csv', description: 'each test image: label, predictions and probabilities without and with text' },
  events: { name: 'events.ndjson', description: 'every progress event of the run, one JSON object per line' },
} as const;

export type RunFile = keyof typeof RUN_FILES;

/** Write `contents` to a temporary name beside `file`, then rename it, so a reader never sees half a file. */
export function writeFileAtomic(file: string, contents: string): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, contents);
    renameSync(temporary, file);
  } catch (error) {
    throw fileSystemError(file, error);
  }
}

/** A user-facing error for a failed write, with the usual causes spelt out. */
export function fileSystemError(file: string, error: unknown): TandemError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOSPC'
      ? 'the disk is full. Free some space or set output.root to a folder on another disk'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? 'permission denied. Set output.root in the config to a folder you can write to'
        : `${(error as Error).message}. Check that the folder exists and is writable`;
  return new TandemError(`Failed to write ${file}: ${reason}. Files already written in that folder are kept.`, {
    cause: error,
  });
}

/** The open run folder of one run. */
export class RunFolder {
  private constructor(readonly dir: string) {}

  /**
   * Create `root/<experiment>/<run id>`, where the run id is the UTC start time. An existing folder is
   * never reused: a second run in the same second gets a numbered suffix.
   */
  static create(root: string, experiment: string, started: Date): RunFolder {
    const stamp = started.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const parent = path.join(root, experiment);
    try {
      mkdirSync(parent, { recursive: true });
    } catch (error) {
      throw fileSystemError(parent, error);
    }
    for (let attempt = 1; ; attempt++) {
      const dir = path.join(parent, attempt === 1 ? stamp : `${stamp}-${attempt}`);
      try {
        // Without `recursive`, mkdir fails on an existing folder, so two runs can never share one.
        mkdirSync(dir);
        return new RunFolder(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw fileSystemError(dir, error);
      }
    }
  }

  path(file: RunFile): string {
    return path.join(this.dir, RUN_FILES[file].name);
  }

  has(file: RunFile): boolean {
    return existsSync(this.path(file));
  }

  writeText(file: RunFile, contents: string): string {
    const target = this.path(file);
    writeFileAtomic(target, contents);
    return target;
  }

  writeJson(file: RunFile, value: unknown): string {
    return this.writeText(file, `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Append one line to a log file; a log is read line by line, so it needs no atomic rename. */
  appendLine(file: RunFile, line: string): void {
    try {
      appendFileSync(this.path(file), `${line}\n`);
    } catch (error) {
      throw fileSystemError(this.path(file), error);
    }
  }
}

/** Format rows as CSV, quoting fields that contain a comma, a quote or a line break. */
export function toCsv(header: string[], rows: (string | number)[][]): string {
  const field = (value: string | number) => {
    const text = typeof value === 'number' ? formatNumber(value) : value;
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [header, ...rows].map((row) => row.map(field).join(',')).join('\n') + '\n';
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}
