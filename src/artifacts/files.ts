/**
 * The files of a run folder, named in one place, and the atomic writes that create them.
 */
import { mkdirSync, renameSync, writeFileSync, appendFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { TandemError } from '../errors.ts';

/** Every file a run writes, with what it contains. */
export const RUN_FILES = {
  config: { name: 'config.yaml', description: 'the fully resolved config, defaults included' },
  run: { name: 'run.json', description: 'provenance and status: seed, backend, versions, times, sample counts' },
  split: { name: 'split.csv', description: 'every image with its patient, label and split' },
  history: { name: 'history.json', description: 'per-epoch training loss and accuracy, validation metrics, seconds' },
  historyCsv: { name: 'history.csv', description: 'the same history as a table' },
  metrics: {
    name: 'metrics.json',
    description: 'best epoch; test accuracy and loss, per-class precision, recall and F1, macro-F1 and balanced accuracy, without and with text',
  },
  confusionWithoutText: { name: 'confusion-without-text.json', description: 'test confusion matrix without text: counts and row rates' },
  confusionWithoutTextCsv: { name: 'confusion-without-text.csv', description: 'its counts as a table' },
  confusionWithoutTextRatesCsv: { name: 'confusion-without-text-rates.csv', description: 'its row rates as a table' },
  confusionWithoutTextSpec: { name: 'confusion-without-text.vl.json', description: 'Vega-Lite spec of the heat map of the matrix without text' },
  confusionWithoutTextSvg: { name: 'confusion-without-text.svg', description: 'that heat map rendered as SVG' },
  confusionWithoutTextPng: { name: 'confusion-without-text.png', description: 'that heat map rendered as PNG' },
  confusionWithText: { name: 'confusion-with-text.json', description: 'test confusion matrix with text: counts and row rates' },
  confusionWithTextCsv: { name: 'confusion-with-text.csv', description: 'its counts as a table' },
  confusionWithTextRatesCsv: { name: 'confusion-with-text-rates.csv', description: 'its row rates as a table' },
  confusionWithTextSpec: { name: 'confusion-with-text.vl.json', description: 'Vega-Lite spec of the heat map of the matrix with text' },
  confusionWithTextSvg: { name: 'confusion-with-text.svg', description: 'that heat map rendered as SVG' },
  confusionWithTextPng: { name: 'confusion-with-text.png', description: 'that heat map rendered as PNG' },
  predictions: { name: 'predictions.csv', description: 'each test image: label, predictions and probabilities without and with text' },
  events: { name: 'events.ndjson', description: 'every progress event of the run, one JSON object per line' },
  tsneWithoutText: { name: 'tsne-without-text.csv', description: 't-SNE of the classifier inputs without text: image, label, prediction, x, y' },
  tsneWithoutTextSpec: { name: 'tsne-without-text.vl.json', description: 'Vega-Lite spec of its scatter plot, coloured by label' },
  tsneWithoutTextSvg: { name: 'tsne-without-text.svg', description: 'that scatter plot rendered as SVG' },
  tsneWithoutTextPng: { name: 'tsne-without-text.png', description: 'that scatter plot rendered as PNG' },
  tsneWithText: { name: 'tsne-with-text.csv', description: 't-SNE of the classifier inputs with text: image, label, prediction, x, y' },
  tsneWithTextSpec: { name: 'tsne-with-text.vl.json', description: 'Vega-Lite spec of its scatter plot, coloured by label' },
  tsneWithTextSvg: { name: 'tsne-with-text.svg', description: 'that scatter plot rendered as SVG' },
  tsneWithTextPng: { name: 'tsne-with-text.png', description: 'that scatter plot rendered as PNG' },
  attentionStatistics: {
    name: 'attention-statistics.json',
    description: 'per label: mean text attention weight of each sentence type, text and image attention shares, counts',
  },
  attentionByTypeCsv: { name: 'attention-by-type.csv', description: 'mean text attention weight per label and sentence type, with sentence counts' },
  attentionShareCsv: { name: 'attention-share.csv', description: 'mean share of attention on text and on the image per label, without and with text' },
  attentionByTypeSpec: { name: 'attention-by-type.vl.json', description: 'Vega-Lite spec of the heat map of attention-by-type.csv' },
  attentionByTypeSvg: { name: 'attention-by-type.svg', description: 'that heat map rendered as SVG' },
  attentionByTypePng: { name: 'attention-by-type.png', description: 'that heat map rendered as PNG' },
  attentionRelativeByTypeSpec: {
    name: 'attention-relative-by-type.vl.json',
    description: 'Vega-Lite spec of the heat map of mean_relative_weight: each weight over its report\'s mean sentence weight',
  },
  attentionRelativeByTypeSvg: { name: 'attention-relative-by-type.svg', description: 'that heat map rendered as SVG' },
  attentionRelativeByTypePng: { name: 'attention-relative-by-type.png', description: 'that heat map rendered as PNG' },
  attentionMaps: {
    name: 'attention-maps.json',
    description: 'the test images drawn in attention-maps/: labels, predictions, image attention grids, sentence weights',
  },
  attentionMapsFolder: {
    name: 'attention-maps',
    description: 'folder: per drawn image <image>-image.png and its attention overlays <image>-without-text.png, <image>-with-text.png',
  },
  analysis: { name: 'analysis.json', description: 't-SNE settings used (perplexity, PCA components and explained variance) and analysis seconds' },
  report: { name: 'report.html', description: 'self-contained page with all of the above, the config and the provenance' },
  checkpoints: {
    name: 'checkpoints',
    description: 'folder: the checkpoint of the last finished epoch, epoch-<nnnn>/ with checkpoint.json and tensors.safetensors',
  },
  damagedCheckpoints: {
    name: 'checkpoints-damaged',
    description: 'folder, only after a resume skipped a damaged checkpoint: that checkpoint as it was, in epoch-<nnnn>-<time>/',
  },
  complete: { name: 'COMPLETE', description: 'empty marker written last; a run folder without it is unfinished' },
} as const;

export type RunFile = keyof typeof RUN_FILES;

/** The three pictures of an attention map in the attention-maps folder. */
export type AttentionMapPicture = 'image' | 'without-text' | 'with-text';

/**
 * Name of one picture of `imageId` in the attention-maps folder: the image id without its extension, then
 * the picture, e.g. "synpic54610-with-text.png".
 */
export function attentionMapFileName(imageId: string, picture: AttentionMapPicture): string {
  const stem = imageId.replace(/\.[A-Za-z0-9]+$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return `${stem}-${picture}.png`;
}

/** Write `contents` to a temporary name beside `file`, then rename it, so a reader never sees half a file. */
export function writeFileAtomic(file: string, contents: string | Uint8Array): void {
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

/**
 * Creates `dir` and its missing parents, like mkdirSync with `recursive: true`. That option loops forever
 * in Node.js 20 below a folder such as /proc, where mkdir of a missing child reports EEXIST, so this
 * creates one folder at a time and lets such an error through.
 */
export function makeFolders(dir: string): void {
  const missing: string[] = [];
  let current = path.resolve(dir);
  while (!existsSync(current)) {
    missing.push(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (error) {
      // Another process may have made it in between, which is fine when it is a folder now.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(folder).isDirectory()) throw error;
    }
  }
}

/** The open run folder of one run. */
export class RunFolder {
  private constructor(readonly dir: string) {}

  /** Open the existing run folder `dir` to continue a run in it; throws a TandemError when it has no run.json. */
  static open(dir: string): RunFolder {
    const folder = new RunFolder(path.resolve(dir));
    if (!folder.has('run')) {
      throw new TandemError(`${folder.dir} is not a run folder: it has no ${RUN_FILES.run.name}. Pass a folder that \`tandem run\` created.`);
    }
    return folder;
  }

  /**
   * Create `root/<experiment>/<run id>`, where the run id is the UTC start time. An existing folder is
   * never reused: a second run in the same second gets a numbered suffix.
   */
  static create(root: string, experiment: string, started: Date): RunFolder {
    const stamp = started.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const parent = path.join(root, experiment);
    try {
      makeFolders(parent);
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
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !existsSync(dir)) throw fileSystemError(dir, error);
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

  writeBinary(file: RunFile, contents: Uint8Array): string {
    const target = this.path(file);
    writeFileAtomic(target, contents);
    return target;
  }

  /** Write `name` inside the subfolder `folder` of the run folder, creating the subfolder if needed. */
  writeInFolder(folder: RunFile, name: string, contents: string | Uint8Array): string {
    const dir = this.path(folder);
    try {
      makeFolders(dir);
    } catch (error) {
      throw fileSystemError(dir, error);
    }
    const target = path.join(dir, name);
    writeFileAtomic(target, contents);
    return target;
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
