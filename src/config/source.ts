/**
 * The YAML side of a config file: parsing with positions, turning YAML errors into problems, and finding
 * the line and column of a config path so that schema and check problems point into the file.
 */
import {
  LineCounter,
  parse,
  parseDocument,
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  visit,
  Scalar,
  type Document,
  type Node,
  type Pair,
  type YAMLError,
} from 'yaml';
import { formatConfigPath, type ConfigProblem } from './problems.ts';
import { closestMatch } from './suggest.ts';

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
  /** The document as plain data (null for an empty document); undefined when `hasSyntaxErrors`. */
  data: unknown;
  /** The values tagged `!replace` or `!default`, which change how the file merges over its bases. */
  mergeTags: MergeTag[];
}

/**
 * A tag that changes the merge at one config path. `!replace` on a mapping replaces the bases' mapping
 * instead of merging into it, key by key. `!default` on a key without a value removes the key that the
 * bases set, so that the schema's default applies.
 */
export interface MergeTag {
  tag: 'replace' | 'default';
  /** The config path of the tagged value, from the document's root. */
  path: string[];
}

/** The YAML tags of MergeTag, as written in a config file. */
export const MERGE_TAGS = { replace: '!replace', default: '!default' } as const;

/** A 1-based line and column. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** The part of a `key: value` pair that a position refers to. */
export type PositionTarget = 'key' | 'value';

/** A position in a named file, as a problem shows it. */
export interface ProblemLocation extends SourcePosition {
  file: string;
}

/**
 * Finds where a config path is written, in whichever file or `--set` option wrote it. For a path that
 * no file contains (a default, a missing required key), it returns the innermost mapping of the path
 * that is written somewhere. See `locatePath` for the meaning of `target`.
 */
export type Locator = (segments: readonly string[], target: PositionTarget) => ProblemLocation;

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
    data: undefined,
    mergeTags: [],
  };

  const syntaxPositions = new Set<string>();
  for (const error of document.errors) {
    if (error.code === 'DUPLICATE_KEY') {
      source.problems.push(duplicateKeyProblem(source, error));
      continue;
    }
    source.hasSyntaxErrors = true;
    const problem = yamlErrorProblem(source, error, 'error');
    // One mistake can make the parser report several errors at one position; the first explains it best.
    const position = `${problem.line}:${problem.column}`;
    if (syntaxPositions.has(position)) continue;
    syntaxPositions.add(position);
    source.problems.push(problem);
  }
  for (const warning of document.warnings) {
    // The yaml package does not resolve !replace or !default, so collectMergeTags handles them instead.
    const tag = warning.code === 'TAG_RESOLVE_FAILED' ? /^Unresolved tag: (\S+)/.exec(warning.message)?.[1] : undefined;
    if (tag !== undefined && (Object.values(MERGE_TAGS) as string[]).includes(tag)) continue;
    // A misspelt merge tag would otherwise leave the value to merge as usual, with only a warning.
    const meant = tag === undefined ? undefined : closestMatch(tag, Object.values(MERGE_TAGS));
    if (meant !== undefined) {
      const problem = yamlErrorProblem(source, warning, 'error');
      source.problems.push({ ...problem, code: 'merge-tag', message: `unknown tag ${tag}`, fix: `did you mean ${meant}?` });
      continue;
    }
    source.problems.push(yamlErrorProblem(source, warning, 'warning'));
  }
  if (!source.hasSyntaxErrors) {
    collectMergeTags(source);
    convertToData(source);
  }
  return source;
}

/**
 * Records every value tagged !replace or !default in `source.mergeTags`, and adds a problem for one that
 * is misused: !replace on anything but a mapping, !default with a value, or either one inside a list.
 */
function collectMergeTags(source: ConfigSource): void {
  visit(source.document, {
    Node(_, node, ancestors) {
      const tag = Object.entries(MERGE_TAGS).find(([, text]) => text === node.tag)?.[0] as MergeTag['tag'] | undefined;
      if (tag === undefined) return;
      const problem = (message: string, fix: string) => {
        // The unresolved tag left the scalar a string, so read it as plain YAML again, or the schema
        // would add a second, misleading problem about its type.
        if (isScalar(node) && node.type === 'PLAIN' && typeof node.source === 'string') node.value = parse(node.source);
        source.problems.push({
          code: 'merge-tag',
          file: source.file,
          ...positionAt(source, node.range?.[0] ?? 0),
          path: '',
          message,
          fix,
          severity: 'error',
        });
      };
      if (ancestors.some((ancestor) => isSeq(ancestor))) {
        problem(`${node.tag} applies to the value of a mapping key, not to a list item`, `move ${node.tag} to the key whose value the list is`);
        return;
      }
      if (tag === 'replace' && !isMap(node)) {
        problem('!replace applies to a mapping: it replaces the mapping of the bases whole', 'write the keys of the mapping under the tagged key, or remove !replace');
        return;
      }
      if (tag === 'default' && !(isScalar(node) && (node.value === null || node.value === ''))) {
        problem('!default takes no value: it removes the key that the bases set, so that the default applies', 'write the key as `key: !default` alone, or remove !default to set the value');
        return;
      }
      const path = ancestors.filter((ancestor) => isPair(ancestor)).map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key));
      source.mergeTags.push({ tag, path });
    },
  });
}

/**
 * Sets `source.data` from the document. An alias without an anchor before it, or one that expands too
 * often (the yaml package's guard against alias bombs), fails only here, so it becomes a syntax problem.
 */
function convertToData(source: ConfigSource): void {
  if (source.document.contents === null) {
    source.data = null;
    return;
  }
  try {
    source.data = source.document.toJS();
  } catch (error) {
    let offset = 0;
    let anchor: string | undefined;
    visit(source.document, {
      Alias(_, alias) {
        if (alias.resolve(source.document) !== undefined) return undefined;
        offset = alias.range?.[0] ?? 0;
        anchor = alias.source;
        return visit.BREAK;
      },
    });
    source.hasSyntaxErrors = true;
    source.problems.push({
      code: 'yaml-syntax',
      file: source.file,
      ...positionAt(source, offset),
      path: '',
      message:
        anchor === undefined
          ? `invalid YAML: ${(error as Error).message}`
          : `invalid YAML: the alias *${anchor} refers to no anchor &${anchor} defined before it`,
      fix: anchor === undefined ? undefined : `add \`&${anchor}\` before a value above this line, or write the value here`,
      severity: 'error',
    });
  }
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
  const opener = unclosedOpener(source, error);
  if (opener !== undefined) return unclosedProblem(source, opener);
  const { line, column: errorColumn } = positionAt(source, error.pos[0]);
  // A misindented key is reported at the start of its line, but the key itself is what to move.
  const indentAfter = error.code === 'BAD_INDENT' ? (/^ */.exec(source.lines[line - 1]?.slice(errorColumn - 1) ?? '')?.[0].length ?? 0) : 0;
  const column = errorColumn + indentAfter;
  const problem: ConfigProblem = {
    code: severity === 'error' ? 'yaml-syntax' : 'yaml-warning',
    file: source.file,
    line,
    column,
    path: '',
    // formatProblem marks warnings as such, so only errors need the "invalid YAML" label.
    message: severity === 'error' ? `invalid YAML: ${plainYamlMessage(error)}` : plainYamlMessage(error),
    severity,
  };
  if (error.code === 'MULTIPLE_DOCS') {
    problem.message = 'invalid YAML: a config file contains one YAML document, but this line starts a second one';
    problem.fix = 'delete the `---` line and merge the two documents, or move the second one to a file of its own';
  }
  if (error.code === 'TAB_AS_INDENT') {
    problem.code = 'yaml-tab';
    problem.message = 'invalid YAML: tab character in indentation';
    problem.found = 'a tab';
    problem.allowed = 'spaces (YAML does not allow tabs for indentation)';
    problem.fix = 'replace the tab with spaces, indenting by the same number of spaces as the sibling keys';
  }
  return problem;
}

/** A quote or flow collection that the parser reached the end of without finding its closing character. */
interface UnclosedOpener {
  offset: number;
  opening: string;
  closing: string;
}

/**
 * Returns the quote, `[` or `{` that a "missing closing quote" or "must end with a ] / }" error is about.
 * The parser reports these where it gave up, often on the next line or at the end of the file, but the
 * mistake is at the opening character. Of the nodes that start before the error and reach it, the
 * innermost is chosen.
 */
function unclosedOpener(source: ConfigSource, error: YAMLError): UnclosedOpener | undefined {
  const isUnclosedQuote = error.code === 'MISSING_CHAR' && /closing .*quote/.test(error.message);
  const isUnclosedFlow = /end with an? [\]}]/.test(error.message);
  if (!isUnclosedQuote && !isUnclosedFlow) return undefined;

  const errorOffset = error.pos[0];
  let found: UnclosedOpener | undefined;
  visit(source.document, (_, node) => {
    const range = (node as Node).range;
    if (range === undefined || range === null || range[0] >= errorOffset || range[2] < errorOffset) return;
    if (found !== undefined && found.offset > range[0]) return;
    if (isUnclosedQuote && isScalar(node) && (node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE)) {
      const quote = node.type === Scalar.QUOTE_DOUBLE ? '"' : "'";
      found = { offset: range[0], opening: quote, closing: quote };
    } else if (isUnclosedFlow && isCollection(node) && node.flow === true) {
      found = isMap(node) ? { offset: range[0], opening: '{', closing: '}' } : { offset: range[0], opening: '[', closing: ']' };
    }
  });
  return found;
}

function unclosedProblem(source: ConfigSource, opener: UnclosedOpener): ConfigProblem {
  const kind = opener.opening === '{' || opener.opening === '[' ? 'bracket' : 'quote';
  return {
    code: 'yaml-syntax',
    file: source.file,
    ...positionAt(source, opener.offset),
    path: '',
    message: `invalid YAML: the ${kind} ${opener.opening} opened here is never closed`,
    fix: `add the closing ${opener.closing} at the end of the value`,
    severity: 'error',
  };
}

/** Describes a DUPLICATE_KEY error with the key's config path and the line of its first occurrence. */
function duplicateKeyProblem(source: ConfigSource, error: YAMLError): ConfigProblem {
  const { line, column } = positionAt(source, error.pos[0]);
  const problem: ConfigProblem = {
    code: 'duplicate-key',
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
