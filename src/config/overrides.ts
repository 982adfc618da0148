/**
 * Command-line overrides: each `--set path=value` option becomes a config layer that sets one value,
 * merged after every config file. The value is YAML, so `--set train.epochs=2` sets a number and
 * `--set data.maxImages=null` sets null.
 */
import { COMMAND_LINE, type ConfigProblem } from './problems.ts';
import { EXTENDS_KEY, type ConfigLayer } from './compose.ts';
import { setOwnProperty } from './merge.ts';
import { locatePath, parseConfigSource, type ConfigSource, type SourcePosition } from './source.ts';

/** The prefix that shows each override as `--set path=value` in problems. Columns count from its start. */
const OPTION_PREFIX = '--set ';

/** A key of an override path: what a YAML key of the schema can be. */
const KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** The overrides of a command line, ready to merge after the config files. */
export interface ParsedOverrides {
  layers: ConfigLayer[];
  problems: ConfigProblem[];
  /** Source lines for `COMMAND_LINE` problems: line N is the N-th override as `--set path=value`. */
  lines: string[];
}

/**
 * Parses `--set` option values such as `model.textDropRate=0.3`. A relative file path set this way
 * resolves against `workingDirectory`, as any path typed on a command line does. Malformed overrides are
 * reported as `override-syntax` problems and skipped.
 */
export function parseOverrides(options: readonly string[], workingDirectory: string): ParsedOverrides {
  const parsed: ParsedOverrides = { layers: [], problems: [], lines: [] };
  options.forEach((option, index) => {
    parsed.lines.push(OPTION_PREFIX + option);
    const layer = parseOverride(option, index + 1, workingDirectory, parsed.problems);
    if (layer !== undefined) parsed.layers.push(layer);
  });
  return parsed;
}

/** The fields of a problem in an override that depend on the problem. */
type OverrideProblemFields = Pick<ConfigProblem, 'path' | 'message' | 'found' | 'allowed' | 'fix'>;

function parseOverride(
  option: string,
  line: number,
  workingDirectory: string,
  problems: ConfigProblem[],
): ConfigLayer | undefined {
  /** Adds a problem at a character offset of `option`. */
  const report = (offset: number, fields: OverrideProblemFields, code: ConfigProblem['code'] = 'override-syntax') => {
    const column = OPTION_PREFIX.length + offset + 1;
    problems.push({ code, file: COMMAND_LINE, line, column, severity: 'error', ...fields });
  };

  const equals = option.indexOf('=');
  if (equals === -1) {
    const colon = option.indexOf(':');
    report(0, {
      path: '',
      message: 'an override must be `path=value`, but it has no `=`',
      found: JSON.stringify(option),
      allowed: 'a dotted config path, `=` and a YAML value, such as `model.textDropRate=0.3`',
      fix: colon === -1 ? undefined : `write \`=\` in place of \`:\`: \`${option.slice(0, colon).trim()}=${option.slice(colon + 1).trim()}\``,
    });
    return undefined;
  }

  const pathText = option.slice(0, equals);
  const segments = pathText.split('.');
  const segmentOffsets: number[] = [];
  let offset = 0;
  for (const segment of segments) {
    segmentOffsets.push(offset);
    offset += segment.length + 1;
  }
  const badIndex = segments.findIndex((segment) => !KEY_PATTERN.test(segment));
  if (badIndex !== -1) {
    const segment = segments[badIndex];
    report(segmentOffsets[badIndex], {
      path: '',
      message: segment === '' ? 'the override path has an empty key' : `the override path has an invalid key \`${segment}\``,
      found: JSON.stringify(pathText),
      allowed: 'config keys joined by dots, such as `train.cnn.learningRate`',
      fix: pathText.trim() === '' ? 'put the config path before `=`' : 'use the config keys as they are written in the YAML file, joined by dots',
    });
    return undefined;
  }
  if (segments[0] === EXTENDS_KEY) {
    const fields = {
      path: EXTENDS_KEY,
      message: '`extends` cannot be set on the command line',
      found: JSON.stringify(option),
      fix: 'add `extends` to the config file, or pass the file that extends the others',
    };
    report(0, fields, 'override-extends');
    return undefined;
  }

  const valueOffset = equals + 1;
  const valueSource = parseConfigSource(option.slice(valueOffset), option);
  const valueErrors = valueSource.problems.filter((problem) => problem.severity === 'error');
  if (valueErrors.length > 0) {
    for (const error of valueErrors) {
      if (error.code === 'merge-tag') {
        // The value is valid YAML with a misused !replace or !default, so the fix is the tag's own.
        const fix = error.fix
          ?.replace('write the key as `key: !default` alone', `write it alone: --set '${pathText}=!default'`)
          .replace('write the keys of the mapping under the tagged key', `write a mapping after it: --set '${pathText}=!replace {key: value}'`);
        report(valueOffset + error.column - 1, { path: segments.join('.'), message: error.message, fix }, 'merge-tag');
        continue;
      }
      report(valueOffset + error.column - 1, {
        path: segments.join('.'),
        message: `the value is not valid YAML: ${error.message.replace(/^invalid YAML: /, '')}`,
        found: JSON.stringify(option.slice(valueOffset)),
        allowed: 'one YAML value, such as 0.3, true, null, "text" or [1, 2]',
        fix: `to set it as a string, put it in YAML quotes inside the shell's quotes: --set '${pathText}=${JSON.stringify(option.slice(valueOffset))}'`,
      });
    }
    return undefined;
  }

  // Nest the value under its path: `a.b=1` becomes { a: { b: 1 } }.
  let data: unknown = valueSource.data ?? null;
  for (const segment of [...segments].reverse()) {
    const parent: Record<string, unknown> = {};
    setOwnProperty(parent, segment, data);
    data = parent;
  }

  return {
    file: COMMAND_LINE,
    kind: 'override',
    data: data as Record<string, unknown>,
    pathBase: workingDirectory,
    locate: (query, target) => locateInOverride(query, target, segments, segmentOffsets, valueOffset, valueSource, line),
    mergeTags: valueSource.mergeTags.map((mergeTag) => ({ ...mergeTag, path: [...segments, ...mergeTag.path] })),
  };
}

/**
 * Finds a config path in one override. A path inside the value points into the value. The override's
 * own path, or a path that leaves it, points at the deepest key that it shares with the override path.
 */
function locateInOverride(
  query: readonly string[],
  target: 'key' | 'value',
  segments: readonly string[],
  segmentOffsets: readonly number[],
  valueOffset: number,
  valueSource: ConfigSource,
  line: number,
): SourcePosition {
  const column = (offset: number) => OPTION_PREFIX.length + offset + 1;
  let shared = 0;
  while (shared < segments.length && shared < query.length && query[shared] === segments[shared]) shared++;

  if (shared < segments.length || (query.length === segments.length && target === 'key')) {
    return { line, column: column(segmentOffsets[Math.max(0, Math.min(shared, query.length) - 1)] ?? 0) };
  }
  const valueIsEmpty = valueSource.document.contents === null;
  if (valueIsEmpty) return { line, column: column(segmentOffsets[segments.length - 1]) };
  const inValue = locatePath(valueSource, query.slice(segments.length), target);
  // A value typed on one line is the norm; for one with line breaks, point at its start.
  return { line, column: column(valueOffset + (inValue.line === 1 ? inValue.column - 1 : 0)) };
}
