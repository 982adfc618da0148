/**
 * Config problems: what the loader found wrong with a config file, where, and how to fix it, plus the
 * compiler-style text that shows them to the user.
 */
import { relative, isAbsolute } from 'node:path';
import { TandemError } from '../errors.ts';

/**
 * The stable codes of config problems, each with its meaning. A code never changes once published, so
 * that scripts and tests can match on it. Cross-field checks add `cross-field/<check name>` codes (see
 * `CROSS_FIELD_CHECKS` in checks.ts).
 */
export const PROBLEM_CODES = {
  'file-not-found': 'The config file given on the command line does not exist.',
  'file-unreadable': 'The config file exists but cannot be read, or is a folder.',
  'yaml-syntax': 'The file is not valid YAML.',
  'yaml-tab': 'A tab character indents a line; YAML allows only spaces.',
  'yaml-warning': 'The YAML parser accepted something unusual, such as an unknown tag.',
  'duplicate-key': 'A mapping sets the same key twice.',
  'unknown-key': 'A key that the schema does not define at this place, often a misspelling.',
  'missing-key': 'A required key, such as `name`, is set by no file.',
  type: 'A value of the wrong type, such as text where a number belongs.',
  range: 'A number outside its allowed range.',
  enum: 'A value that is not one of the allowed choices.',
  length: 'A string or list that is too short (such as empty) or too long.',
  pattern: 'A string with characters that the field does not allow.',
  'duplicate-item': 'A list that must hold distinct items holds one twice.',
  'extends-invalid': '`extends` is neither a path nor a list of paths.',
  'extends-missing': 'A file named in `extends` does not exist.',
  'extends-unreadable': 'A file named in `extends` cannot be read, or is a folder.',
  'extends-cycle': 'A file extends itself, directly or through other files.',
  'merge-tag': '`!replace` on a value that is not a mapping, `!default` with a value, either one inside a list, or a misspelt one.',
  'override-syntax': 'A `--set` option that is not `path=value` with a dotted path and a YAML value.',
  'override-extends': '`--set` tried to set `extends`, which only a config file can set.',
} as const;

/** A problem code: one of `PROBLEM_CODES` or `cross-field/<check name>`. */
export type ProblemCode = keyof typeof PROBLEM_CODES | `cross-field/${string}`;

/** One problem with a config file, located at a 1-based line and column of that file. */
export interface ConfigProblem {
  /** Stable identifier of the kind of problem, printed after the message. */
  code: ProblemCode;
  /**
   * The file as shown to the user: relative to the working directory when inside it, else absolute.
   * `COMMAND_LINE` for a problem in a `--set` option.
   */
  file: string;
  /** 1-based line, or 0 when the problem concerns the whole file (for example a missing file). */
  line: number;
  /** 1-based column in UTF-16 code units, or 0 together with line 0. */
  column: number;
  /** Dotted config path such as `data.imageSize`, or '' for the file or the top level as a whole. */
  path: string;
  message: string;
  /** The offending value as written in the file. */
  found?: string;
  /** The values the schema or the check accepts. */
  allowed?: string;
  fix?: string;
  severity: 'error' | 'warning';
}

/** Source lines of each config file, keyed by the `file` field of the problems found in it. */
export type ConfigSources = ReadonlyMap<string, readonly string[]>;

/**
 * The `file` of problems found in `--set` options. Its line N is the N-th `--set` option, written as
 * `--set path=value`, and columns count in that text.
 */
export const COMMAND_LINE = '<command line>';

/** Invalid config: a missing file, YAML syntax errors, schema violations or failed cross-field checks. */
export class ConfigError extends TandemError {
  /** Every problem found, warnings included, in file and line order. */
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], sources: ConfigSources = new Map(), options: { note?: string } = {}) {
    super(formatProblems(problems, sources, options), { exitCode: 2 });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Returns the path shown to the user for a file: relative to the working directory when inside it. */
export function displayPath(absolutePath: string): string {
  const fromWorkingDirectory = relative(process.cwd(), absolutePath);
  const insideWorkingDirectory =
    fromWorkingDirectory !== '' && !fromWorkingDirectory.startsWith('..') && !isAbsolute(fromWorkingDirectory);
  return insideWorkingDirectory ? fromWorkingDirectory : absolutePath;
}

/**
 * Joins path segments into a config path: `data.imageSize`, `list[2]`, and a quoted segment for a key
 * that is not a plain identifier (`data["image size"]`).
 */
export function formatConfigPath(segments: readonly string[]): string {
  let text = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) {
      text += `[${segment}]`;
    } else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) {
      text += text === '' ? segment : `.${segment}`;
    } else {
      text += `[${JSON.stringify(segment)}]`;
    }
  }
  return text;
}

/**
 * Formats one problem as a block of text:
 *
 *     file:line:column  config.path  message  [code]
 *        3 |   imageSize: 8
 *          |              ^
 *       found: 8
 *       allowed: an integer from 16 to 1024
 *       fix: ...
 *
 * `sourceLines` are the lines of `problem.file`. The source excerpt is left out when the problem has no
 * line (line 0) or the line is not in `sourceLines`.
 */
export function formatProblem(problem: ConfigProblem, sourceLines: readonly string[]): string {
  const location = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.column}` : problem.file;
  const severity = problem.severity === 'warning' ? 'warning: ' : '';
  const header = [location, problem.path, severity + problem.message, `[${problem.code}]`]
    .filter((part) => part !== '')
    .join('  ');
  const lines = [header];

  const sourceLine = problem.line > 0 ? sourceLines[problem.line - 1] : undefined;
  if (sourceLine !== undefined) {
    const gutter = String(problem.line);
    const blankGutter = ' '.repeat(gutter.length);
    // Keep the tabs of the source line in the caret line so that the caret lines up in a terminal.
    const caretIndent = sourceLine.slice(0, Math.max(0, problem.column - 1)).replace(/[^\t]/g, ' ');
    lines.push(`  ${gutter} | ${sourceLine}`);
    lines.push(`  ${blankGutter} | ${caretIndent}^`);
  }

  if (problem.found !== undefined) lines.push(`  found: ${problem.found}`);
  if (problem.allowed !== undefined) lines.push(`  allowed: ${problem.allowed}`);
  if (problem.fix !== undefined) lines.push(`  fix: ${problem.fix}`);
  return lines.join('\n');
}

/**
 * Formats every problem, one block each separated by a blank line, followed by a count of errors and
 * warnings and the optional `note`.
 */
export function formatProblems(
  problems: readonly ConfigProblem[],
  sources: ConfigSources,
  options: { note?: string } = {},
): string {
  const blocks = problems.map((problem) => formatProblem(problem, sources.get(problem.file) ?? []));
  const errorCount = problems.filter((problem) => problem.severity === 'error').length;
  const warningCount = problems.length - errorCount;
  const files = [...new Set(problems.map((problem) => problem.file))].join(', ');
  const counts = [countLabel(errorCount, 'error'), countLabel(warningCount, 'warning')].filter((label) => label !== '');
  let summary = `${files}: ${counts.join(', ')}`;
  if (options.note !== undefined) summary += `\n${options.note}`;
  return [...blocks, summary].join('\n\n');
}

/** Returns "1 error", "2 errors", or '' for a count of 0. */
function countLabel(count: number, noun: string): string {
  if (count === 0) return '';
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * Returns the problems sorted by file, line and column. Files come in the order of `fileOrder`, and
 * files missing from it after those, by name. Problems at one position keep their order.
 */
export function sortProblems(problems: readonly ConfigProblem[], fileOrder: readonly string[] = []): ConfigProblem[] {
  const rank = (file: string) => {
    const index = fileOrder.indexOf(file);
    return index === -1 ? fileOrder.length : index;
  };
  return [...problems].sort(
    (a, b) =>
      rank(a.file) - rank(b.file) || a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column,
  );
}
