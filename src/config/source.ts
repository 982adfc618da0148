/**
 * The YAML side of a config file: parsing with positions, turning YAML errors into problems, and finding
 * the line and column of a config path so that schema and check problems point into the file.
 */
import {
  LineCounter,
  parseDocument,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type Node,
  type Pair,
  type YAMLError,
} from 'yaml';
import { formatConfigPath, type ConfigProblem } from './problems.ts';

/** A parsed config file with everything needed to place problems in it. */
export interface ConfigSource {
  /** The file as shown in problems (see `displayPath`). */
  file: string;
  lines: string[];
  document: Document.Parsed;
  lineCounter: LineCounter;
  /** YAML syntax errors and duplicate keys, in the order the parser found them. */
  problems: ConfigProblem[];
  /** True when the YAML itself is broken, so its structure cannot be trusted for schema validation. */
  hasSyntaxErrors: boolean;
}

/** A 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** The part of a `key: value` pair that a position refers to. */
export type PositionTarget = 'key' | 'value';

/**
 * Parses config text, collecting each YAML error as a problem in `problems` instead of throwing.
 * Duplicate keys are errors but leave the structure usable (the last value wins), so only the other
 * errors set `hasSyntaxErrors`.
 */
export function parseConfigSource(text: string, file: string): ConfigSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, lineCounter, uniqueKeys: true });
  const source: ConfigSource = {
    file,
    lines: text.split(/\r?\n/),
    document,
    lineCounter,
    problems: [],
    hasSyntaxErrors: false,
  };

  for (const error of document.errors) {
    if (error.code === 'DUPLICATE_KEY') {
      source.problems.push(duplicateKeyProblem(source, error));
    } else {
      source.hasSyntaxErrors = true;
      source.problems.push(yamlErrorProblem(source, error, 'error'));
    }
  }
  for (const warning of document.warnings) source.problems.push(yamlErrorProblem(source, warning, 'warning'));
  return source;
}

/** Returns the 1-based position of a character offset in the source. */
export function positionAt(source: ConfigSource, offset: number): SourcePosition {
  const { line, col } = source.lineCounter.linePos(offset);
  return { line, column: col };
}

/**
 * Returns where a config path sits in the file. For an existing path: its key (`target` 'key') or its
 * value; an empty value (`key:` with nothing after it) points at its key. For a path that is missing
 * from the file, such as a key filled in by a default or a missing required key: the innermost mapping
 * of the path that the file does contain. An empty file gives line 1, column 1.
 */
export function locatePath(source: ConfigSource, segments: readonly string[], target: PositionTarget): SourcePosition {
  let node = resolveAlias(source, source.document.contents);
  if (node === null) return { line: 1, column: 1 };

  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index];
    const isLast = index === segments.length - 1;

    if (isMap(node)) {
      const pair = findPair(node.items, segment);
      if (pair === undefined) return nodeStart(source, node);
      const keyPosition = nodeStart(source, pair.key as Node);
      if (isLast && target === 'key') return keyPosition;
      const value = resolveAlias(source, pair.value as Node | null);
      if (value === null || isEmptyNode(value)) return keyPosition;
      node = value;
    } else if (isSeq(node) && /^\d+$/.test(segment) && Number(segment) < node.items.length) {
      const item = resolveAlias(source, node.items[Number(segment)] as Node | null);
      if (item === null) return nodeStart(source, node);
      node = item;
    } else {
      // The path continues below a scalar or past the end of a list: point at what is there instead.
      return nodeStart(source, node);
    }
  }
  return nodeStart(source, node);
}

/**
 * Returns the last pair of a mapping whose key is `key`. The last one because with a duplicate key
 * the parsed value is the last one.
 */
function findPair(items: readonly Pair[], key: string): Pair | undefined {
  let found: Pair | undefined;
  for (const pair of items) {
    const pairKey = isScalar(pair.key) ? pair.key.value : pair.key;
    if (String(pairKey) === key) found = pair;
  }
  return found;
}

function resolveAlias(source: ConfigSource, node: Node | null | undefined): Node | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return (node.resolve(source.document) as Node | undefined) ?? node;
  return node;
}

function isEmptyNode(node: Node): boolean {
  return node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
}

function nodeStart(source: ConfigSource, node: Node): SourcePosition {
  const offset = node.range?.[0];
  return offset === undefined ? { line: 1, column: 1 } : positionAt(source, offset);
}

/** Drops the excerpt that the `prettyErrors` option appends to a YAML error message. */
function plainYamlMessage(error: YAMLError): string {
  const message = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').trim();
  // Start with a lower-case letter like the loader's own messages, unless the word is an acronym.
  return /^[A-Z][a-z]/.test(message) ? message[0].toLowerCase() + message.slice(1) : message;
}

function yamlErrorProblem(source: ConfigSource, error: YAMLError, severity: 'error' | 'warning'): ConfigProblem {
  const { line, column } = positionAt(source, error.pos[0]);
  const problem: ConfigProblem = {
    file: source.file,
    line,
    column,
    path: '',
    // formatProblem marks warnings as such, so only errors need the "invalid YAML" label.
    message: severity === 'error' ? `invalid YAML: ${plainYamlMessage(error)}` : plainYamlMessage(error),
    severity,
  };
  if (error.code === 'TAB_AS_INDENT') {
    problem.message = 'invalid YAML: tab character in indentation';
    problem.found = 'a tab';
    problem.allowed = 'spaces (YAML does not allow tabs for indentation)';
    problem.fix = 'replace the tab with spaces, indenting by the same number of spaces as the sibling keys';
  }
  return problem;
}

/** Describes a DUPLICATE_KEY error with the key's config path and the line of its first occurrence. */
function duplicateKeyProblem(source: ConfigSource, error: YAMLError): ConfigProblem {
  const { line, column } = positionAt(source, error.pos[0]);
  const problem: ConfigProblem = {
    file: source.file,
    line,
    column,
    path: '',
    message: 'duplicate key',
    allowed: 'each key at most once per mapping',
    fix: 'keep one of the entries and delete the other',
    severity: 'error',
  };

  const duplicate = findKeyAtOffset(source.document.contents, error.pos[0], []);
  if (duplicate !== undefined) {
    const key = duplicate.path[duplicate.path.length - 1];
    problem.path = formatConfigPath(duplicate.path);
    problem.message = `duplicate key \`${key}\``;
    if (duplicate.firstOffset !== undefined) {
      const first = positionAt(source, duplicate.firstOffset);
      problem.found = `\`${key}\` is already set on line ${first.line}`;
    }
  }
  return problem;
}

/**
 * Finds the mapping key that starts at `offset`, returning its path and the offset of the first key with
 * the same name in the same mapping.
 */
function findKeyAtOffset(
  node: unknown,
  offset: number,
  parentPath: string[],
): { path: string[]; firstOffset?: number } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyText = String(isScalar(pair.key) ? pair.key.value : pair.key);
      if (isScalar(pair.key) && pair.key.range?.[0] === offset) {
        const first = node.items.find((other) => isScalar(other.key) && String(other.key.value) === keyText);
        const firstOffset = first !== pair ? (first?.key as Node | undefined)?.range?.[0] : undefined;
        return { path: [...parentPath, keyText], firstOffset };
      }
      const inside = findKeyAtOffset(pair.value, offset, [...parentPath, keyText]);
      if (inside !== undefined) return inside;
    }
  } else if (isSeq(node)) {
    for (let index = 0; index < node.items.length; index++) {
      const inside = findKeyAtOffset(node.items[index], offset, [...parentPath, String(index)]);
      if (inside !== undefined) return inside;
    }
  }
  return undefined;
}
