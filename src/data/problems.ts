/**
 * Problems found in a data set, each located at a line of the manifest (or of the VQA-RAD metadata
 * file), and their formatting for `tandem data check` and for the error that stops `tandem run`.
 */
import path from 'node:path';
import { closestMatch } from '../config/suggest.ts';
import { DataError } from '../errors.ts';

/** Stable identifiers of the problems the data checks report; docs/data-format.md explains each. */
export const DATA_PROBLEM_CODES = [
  'invalid-row',
  'missing-field',
  'unknown-field',
  'missing-image',
  'unreadable-image',
  'unsupported-format',
  'empty-report',
  'sentence-types',
  'unknown-label',
  'similar-labels',
  'label-without-images',
  'invalid-split',
  'label-missing-from-split',
  'empty-split',
  'patient-in-two-splits',
  'duplicate-id',
  'duplicate-image',
] as const;

export type DataProblemCode = (typeof DATA_PROBLEM_CODES)[number];

export interface DataProblem {
  /** Absolute path of the file the line refers to. */
  file: string;
  /** 1-based line of the row or record; 0 for a problem of the whole data set. */
  line: number;
  code: DataProblemCode;
  /** Description of the problem and of its fix, in full sentences. */
  message: string;
  /** Errors stop `tandem run`; warnings are shown and the run goes on. */
  severity: 'error' | 'warning';
}

/** Order problems by file, then line, keeping the order of problems on the same line. */
export function sortDataProblems(problems: readonly DataProblem[]): DataProblem[] {
  const byFileAndLine = (a: DataProblem, b: DataProblem): number => {
    if (a.file !== b.file) return a.file < b.file ? -1 : 1;
    return a.line - b.line;
  };
  // Array.prototype.sort is stable, so problems on one line keep their order.
  return [...problems].sort(byFileAndLine);
}

/**
 * Format one problem as `file:line  code  message`, with `file:` alone for line 0. `file` is shown
 * relative to the working directory when it lies inside it. Warnings get "warning: " before the code.
 */
export function formatDataProblem(problem: DataProblem): string {
  const label = problem.severity === 'warning' ? `warning: ${problem.code}` : problem.code;
  return `${formatLocation(problem)}  ${label}  ${problem.message}`;
}

function formatLocation(problem: DataProblem): string {
  return problem.line > 0 ? `${shownPath(problem.file)}:${problem.line}` : shownPath(problem.file);
}

/** Return `absolutePath` relative to the working directory when it lies inside it, else unchanged. */
export function shownPath(absolutePath: string): string {
  const relative = path.relative(process.cwd(), absolutePath);
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  return inside ? relative : absolutePath;
}

/** Count problems by severity. */
export function countProblems(problems: readonly DataProblem[]): { errors: number; warnings: number } {
  const errors = problems.filter((problem) => problem.severity === 'error').length;
  return { errors, warnings: problems.length - errors };
}

/** At most this many problems are listed in the error that stops a run; `tandem data check` lists all. */
export const MAX_PROBLEMS_IN_RUN_ERROR = 20;

/** The data set has errors, listed in `problems`; thrown by `loadData` before any training starts. */
export class DataProblemsError extends DataError {
  readonly problems: DataProblem[];

  /**
   * `beforeDecoding` marks problems found before the images were decoded, so that a damaged image may
   * add more errors once these are fixed.
   */
  constructor(problems: readonly DataProblem[], checkCommand: string, options: { beforeDecoding?: boolean } = {}) {
    const sorted = sortDataProblems(problems.filter((problem) => problem.severity === 'error'));
    const listed = sorted.slice(0, MAX_PROBLEMS_IN_RUN_ERROR).map(formatDataProblem);
    const more = sorted.length - listed.length;
    const count = `${options.beforeDecoding ? 'at least ' : ''}${sorted.length} ${sorted.length === 1 ? 'error' : 'errors'}`;
    const lines = [
      `The data set has ${count}, so nothing was trained:`,
      ...listed,
      ...(more > 0 ? [`... and ${more} more.`] : []),
      `Fix them and run again. \`${checkCommand}\` lists every problem with a summary of the data set.`,
    ];
    super(lines.join('\n'));
    this.name = 'DataProblemsError';
    this.problems = sorted;
  }
}

/**
 * Summarise warnings for a run's event log: one line per problem code, with the count and the first few
 * locations, so that a data set with many similar warnings does not flood the output.
 */
export function summariseWarnings(problems: readonly DataProblem[], checkCommand: string): string[] {
  const byCode = new Map<DataProblemCode, DataProblem[]>();
  for (const problem of sortDataProblems(problems)) {
    if (problem.severity !== 'warning') continue;
    const group = byCode.get(problem.code) ?? [];
    group.push(problem);
    byCode.set(problem.code, group);
  }
  return [...byCode.values()].map((group) => {
    if (group.length === 1) return `${formatLocation(group[0])}  ${group[0].code}  ${group[0].message}`;
    const lines = group.filter((problem) => problem.line > 0).map((problem) => problem.line);
    const shownLines = lines.slice(0, 5).join(', ') + (lines.length > 5 ? ', ...' : '');
    const where = lines.length > 0 ? ` at lines ${shownLines} of ${shownPath(group[0].file)}` : '';
    return `${group.length} ${group[0].code} warnings${where}, for example: ${group[0].message} \`${checkCommand}\` lists them all.`;
  });
}

/**
 * Return the candidate that `word` most likely misspells, ignoring case, or undefined when none is close.
 * A candidate that differs by two swapped neighbouring letters ("lable" for "label") comes first, because
 * the config's `closestMatch` counts a swap as two edits. Otherwise `closestMatch` decides.
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const target = candidate.toLowerCase();
    if (target.length !== lower.length || target === lower) continue;
    const differences = [...lower].flatMap((character, index) => (character === target[index] ? [] : [index]));
    const [first, second] = differences;
    if (differences.length === 2 && second === first + 1 && lower[first] === target[second] && lower[second] === target[first]) {
      return candidate;
    }
  }
  return closestMatch(word, candidates);
}

/** ` (did you mean "x"?)` for the closest candidate, or '' when none is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closestName(word, candidates);
  return match ? ` (did you mean "${match}"?)` : '';
}
