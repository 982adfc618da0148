/**
 * Composition of config files through `extends`: reads a config file and every base file it names,
 * directly or through other bases, and returns them as layers to merge, bases first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { displayPath, type ConfigProblem, type ProblemCode } from './problems.ts';
import {
  locatePath,
  parseConfigSource,
  positionAt,
  type ConfigSource,
  type MergeTag,
  type PositionTarget,
  type SourcePosition,
} from './source.ts';
import { closestMatch } from './suggest.ts';
import { formatValue } from './validate.ts';

/** The top-level key that names base files. */
export const EXTENDS_KEY = 'extends';

/** One contributor to a composed config: a config file, or one `--set` option of the command line. */
export interface ConfigLayer {
  /** The file as shown in problems, or `COMMAND_LINE` for a `--set` option. */
  file: string;
  kind: 'file' | 'override';
  /** The keys that this layer sets, without `extends`. */
  data: Record<string, unknown>;
  /** Absolute folder that relative file paths set by this layer resolve against. */
  pathBase: string;
  /** Returns where this layer writes a config path; see `locatePath` for paths it does not contain. */
  locate(segments: readonly string[], target: PositionTarget): SourcePosition;
  /** The values that this layer tags !replace or !default, with their paths from the config's root. */
  mergeTags: readonly MergeTag[];
}

/** A config file and its bases, ready to merge. */
export interface ComposedFiles {
  /** Bases first, in the order they merge, and the file itself last. */
  layers: ConfigLayer[];
  /** Problems of every file read, in the order found. */
  problems: ConfigProblem[];
  /** Source lines of every file read, keyed by the file as shown in problems. */
  sources: Map<string, string[]>;
  /** The files as shown in problems: the file itself first, then its bases in the order they were read. */
  files: string[];
  /**
   * The reason the composed config cannot be checked against the schema: a file that is not valid YAML
   * or not a mapping. Undefined when it can be checked.
   */
  blockedBy?: 'yaml' | 'structure';
}

/** The place of an `extends` entry, so that problems with the base it names point there. */
interface ExtendsEntry {
  source: ConfigSource;
  /** Path of the entry in its file: ['extends'] or ['extends', '<index>']. */
  segments: string[];
  /** The entry as written, such as `../base.yaml`. */
  text: string;
}

/**
 * Reads the config file at `absolutePath` and, recursively, the base files named by its `extends` key.
 * A base path is relative to the folder of the file that names it. Problems (unreadable files, invalid
 * YAML, invalid `extends` values, missing bases, cycles) are collected, never thrown.
 */
export function composeFiles(absolutePath: string): ComposedFiles {
  const composed: ComposedFiles = { layers: [], problems: [], sources: new Map(), files: [] };
  addFile(composed, new Map(), absolutePath, [], undefined);
  return composed;
}

/**
 * Adds the layers of the file at `absolutePath`, its bases first. `chain` contains the files that extend
 * it, outermost first, to detect cycles. `parsed` caches files that two bases share.
 */
function addFile(
  composed: ComposedFiles,
  parsed: Map<string, ConfigSource>,
  absolutePath: string,
  chain: readonly string[],
  entry: ExtendsEntry | undefined,
): void {
  if (entry !== undefined && chain.includes(absolutePath)) {
    const cycle = [...chain.slice(chain.indexOf(absolutePath)), absolutePath].map(displayPath);
    const extendsItself = chain[chain.length - 1] === absolutePath;
    composed.problems.push(
      entryProblem(entry, 'extends-cycle', {
        message: extendsItself
          ? 'a config file cannot extend itself'
          : `\`${entry.text}\` already extends this file, directly or through its bases, so the files form a cycle`,
        found: cycle.join(' extends '),
        allowed: 'bases that do not extend, directly or through their bases, the files that extend them',
        fix: extendsItself
          ? `remove \`${entry.text}\` from \`extends\``
          : `remove \`${entry.text}\` from \`extends\` here, or remove the \`extends\` entry that leads back to this file`,
      }),
    );
    return;
  }

  let source = parsed.get(absolutePath);
  if (source === undefined) {
    const text = readText(composed, absolutePath, entry);
    if (text === undefined) return;
    source = parseConfigSource(text, displayPath(absolutePath));
    parsed.set(absolutePath, source);
    composed.sources.set(source.file, source.lines);
    composed.files.push(source.file);
    composed.problems.push(...source.problems);
    if (source.hasSyntaxErrors) composed.blockedBy ??= 'yaml';
  }
  if (source.hasSyntaxErrors) return;

  const root = source.document.contents;
  if (root !== null && !isMap(root)) {
    const value: unknown = source.data;
    composed.problems.push({
      code: 'type',
      file: source.file,
      ...positionAt(source, root.range?.[0] ?? 0),
      path: '',
      message: 'must be a mapping of keys to values',
      found: formatValue(value),
      allowed: 'a mapping of config keys, such as `name: my-experiment`',
      severity: 'error',
    });
    composed.blockedBy ??= 'structure';
    return;
  }

  for (const base of extendsEntries(composed, source)) {
    const basePath = path.resolve(path.dirname(absolutePath), base.text);
    addFile(composed, parsed, basePath, [...chain, absolutePath], base);
  }

  const data = (source.data ?? {}) as Record<string, unknown>;
  delete data[EXTENDS_KEY];
  const fileSource = source;
  composed.layers.push({
    file: source.file,
    kind: 'file',
    data,
    pathBase: path.dirname(absolutePath),
    locate: (segments, target) => locatePath(fileSource, segments, target),
    mergeTags: source.mergeTags,
  });
}

/**
 * Reads a config file as UTF-8. A failure becomes a problem at the `extends` entry that names the file,
 * or, for the file given on the command line, a problem of the file as a whole (line 0).
 */
function readText(composed: ComposedFiles, absolutePath: string, entry: ExtendsEntry | undefined): string | undefined {
  try {
    return readFileSync(absolutePath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    composed.problems.push(entry === undefined ? fileProblem(absolutePath, code, error) : baseProblem(entry, absolutePath, code, error));
    return undefined;
  }
}

function fileProblem(absolutePath: string, errorCode: string | undefined, error: unknown): ConfigProblem {
  const problem: ConfigProblem = {
    code: 'file-unreadable',
    file: displayPath(absolutePath),
    line: 0,
    column: 0,
    path: '',
    message: `cannot read the config file: ${(error as Error).message}`,
    fix: 'check the file permissions',
    severity: 'error',
  };
  if (errorCode === 'ENOENT') {
    problem.code = 'file-not-found';
    problem.message = 'config file not found';
    problem.fix =
      `check the path, which is relative to the working directory ${process.cwd()}. ` +
      'The shipped configs are in configs/, such as configs/vqa-rad.yaml';
  } else if (errorCode === 'EISDIR') {
    problem.message = 'is a folder, not a config file';
    problem.fix = 'pass a YAML file, such as configs/vqa-rad.yaml';
  }
  return problem;
}

/** Describes a base file that cannot be read, at the `extends` entry that names it. */
function baseProblem(entry: ExtendsEntry, absolutePath: string, errorCode: string | undefined, error: unknown): ConfigProblem {
  const folder = path.dirname(path.resolve(entry.source.file));
  if (errorCode === 'ENOENT') {
    const suggestion = similarConfigFile(absolutePath);
    const suggestedEntry = suggestion === undefined ? undefined : path.posix.join(path.posix.dirname(entry.text), suggestion);
    return entryProblem(entry, 'extends-missing', {
      message: `base config \`${entry.text}\` not found`,
      found: absolutePath,
      allowed: `a YAML file, relative to the folder of ${entry.source.file} (${folder})`,
      fix:
        suggestedEntry === undefined
          ? `check the path, which is relative to ${folder}, not to the working directory`
          : `did you mean \`${suggestedEntry}\`?`,
    });
  }
  const isFolder = errorCode === 'EISDIR';
  return entryProblem(entry, 'extends-unreadable', {
    message: isFolder ? `base config \`${entry.text}\` is a folder, not a config file` : `cannot read base config \`${entry.text}\``,
    found: isFolder ? absolutePath : `${absolutePath}: ${(error as Error).message}`,
    fix: isFolder ? 'name a YAML file in that folder' : 'check the file permissions',
  });
}

/** Returns the name of the YAML file beside `absolutePath` whose name is closest to its name, if any is close. */
function similarConfigFile(absolutePath: string): string | undefined {
  let names: string[];
  try {
    names = readdirSync(path.dirname(absolutePath)).filter((name) => /\.ya?ml$/i.test(name));
  } catch {
    return undefined;
  }
  return closestMatch(path.basename(absolutePath), names);
}

/**
 * Returns the base paths that a file's `extends` names: one string, or a list of strings. Other values
 * are reported and skipped.
 */
function extendsEntries(composed: ComposedFiles, source: ConfigSource): ExtendsEntry[] {
  const root = source.document.contents;
  if (!isMap(root)) return [];
  const pair = [...root.items].reverse().find((item) => isScalar(item.key) && item.key.value === EXTENDS_KEY);
  if (pair === undefined) return [];

  const value = pair.value as Node | null;
  const allowed = 'a path relative to this file, or a list of such paths, such as `extends: base.yaml`';
  const invalid = (segments: string[], message: string, found: string) =>
    composed.problems.push(
      entryProblem({ source, segments, text: '' }, 'extends-invalid', {
        message,
        found,
        allowed,
        fix: 'write the path of the base config file, for example `extends: ../base.yaml`',
      }),
    );

  if (isSeq(value)) {
    const entries: ExtendsEntry[] = [];
    value.items.forEach((item, index) => {
      const segments = [EXTENDS_KEY, String(index)];
      const text = pathText(item as Node | null);
      if (text === undefined) invalid(segments, 'each `extends` entry must be a file path', describeNode(item as Node | null));
      else entries.push({ source, segments, text });
    });
    return entries;
  }
  const text = pathText(value);
  if (text === undefined) {
    invalid([EXTENDS_KEY], '`extends` must be a file path or a list of file paths', describeNode(value));
    return [];
  }
  return [{ source, segments: [EXTENDS_KEY], text }];
}

/** Returns the text of a scalar whose value is a non-empty string, else undefined. */
function pathText(node: Node | null): string | undefined {
  if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') return undefined;
  return node.value;
}

function describeNode(node: Node | null): string {
  if (node === null || (isScalar(node) && node.value === null)) return 'null (no value)';
  if (isScalar(node)) return formatValue(node.value);
  return isMap(node) ? 'a mapping' : 'a list';
}

function entryProblem(
  entry: ExtendsEntry,
  code: ProblemCode,
  fields: Pick<ConfigProblem, 'message' | 'found' | 'allowed' | 'fix'>,
): ConfigProblem {
  const problem: ConfigProblem = {
    code,
    file: entry.source.file,
    ...locatePath(entry.source, entry.segments, 'value'),
    path: entry.segments.length === 1 ? EXTENDS_KEY : `${EXTENDS_KEY}[${entry.segments[1]}]`,
    message: fields.message,
    severity: 'error',
  };
  if (fields.found !== undefined) problem.found = fields.found;
  if (fields.allowed !== undefined) problem.allowed = fields.allowed;
  if (fields.fix !== undefined) problem.fix = fields.fix;
  return problem;
}
