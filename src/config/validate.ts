/**
 * Schema validation with ajv: applies the schema defaults in place and turns ajv's errors into located
 * problems with the value found, the values allowed and a fix.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ExperimentSchema } from './schema.ts';
import { formatConfigPath, type ConfigProblem, type ProblemCode } from './problems.ts';
import type { Locator, PositionTarget } from './source.ts';
import { closestMatch } from './suggest.ts';

/** The JSON Schema keywords that the experiment schema uses. */
export interface JsonSchema {
  type?: string;
  additionalProperties?: boolean | JsonSchema;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  description?: string;
  default?: unknown;
  /** Marks a string that names a file or folder; see `filePath` in schema.ts. */
  filePath?: boolean;
  items?: JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  allOf?: JsonSchema[];
  if?: JsonSchema;
  then?: JsonSchema;
  const?: unknown;
}

const rootSchema = ExperimentSchema as unknown as JsonSchema;
let compiledValidator: ValidateFunction | undefined;

/**
 * Returns the compiled validator, compiling it on first use. allErrors reports every violation instead
 * of the first. useDefaults fills missing keys from `default`, and because every section defaults to
 * `{}`, the nested defaults fill in too. strict rejects schema keywords that ajv does not know, so the
 * annotation keyword `filePath` is declared. verbose adds the schema and the value to each error.
 */
function experimentValidator(): ValidateFunction {
  if (compiledValidator === undefined) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true });
    ajv.addKeyword({ keyword: 'filePath', schemaType: 'boolean' });
    compiledValidator = ajv.compile(ExperimentSchema);
  }
  return compiledValidator;
}

/**
 * Validates `data` against the experiment schema, filling in defaults in place, and returns one problem
 * per unknown key, per missing required key and per invalid value, placed by `locate`.
 */
export function validateExperiment(data: unknown, locate: Locator): ConfigProblem[] {
  const validate = experimentValidator();
  if (validate(data)) return [];
  const errors = withoutExplainedUnions(validate.errors ?? []);

  const problems: ConfigProblem[] = [];
  const valueErrors = new Map<string, ErrorObject[]>();
  for (const error of errors) {
    // An `if` error only repeats the errors of its `then` branch, which are reported themselves.
    if (error.keyword === 'if') continue;
    if (error.keyword === 'additionalProperties') {
      problems.push(unknownKeyProblem(error, locate));
    } else if (error.keyword === 'required') {
      problems.push(missingKeyProblem(error, locate));
    } else {
      const group = valueErrors.get(error.instancePath) ?? [];
      group.push(error);
      valueErrors.set(error.instancePath, group);
    }
  }
  for (const [instancePath, group] of valueErrors) {
    problems.push(invalidValueProblem(pointerSegments(instancePath), group, locate));
  }
  return problems;
}

/**
 * Drops the errors of a union ("a list or null") whose value has the type of one branch and fails only
 * inside it, such as a list with one item of the wrong type. The errors inside, at deeper paths, say
 * what is wrong; the union's own error and the other branches' type errors would only contradict them.
 */
function withoutExplainedUnions(errors: ErrorObject[]): ErrorObject[] {
  const explained = errors.filter(
    (union) =>
      union.keyword === 'anyOf' &&
      errors.some(
        (inner) =>
          inner.instancePath.startsWith(`${union.instancePath}/`) && inner.schemaPath.startsWith(`${union.schemaPath}/`),
      ),
  );
  return errors.filter(
    (error) =>
      !explained.some(
        (union) =>
          error === union ||
          (error.instancePath === union.instancePath && error.schemaPath.startsWith(`${union.schemaPath}/`)),
      ),
  );
}

/** Returns the schema of a config path, or undefined when the schema has no such key. */
export function schemaAt(segments: readonly string[]): JsonSchema | undefined {
  let schema: JsonSchema | undefined = rootSchema;
  for (const segment of segments) {
    // hasOwn, so that a key such as `__proto__` or `toString` is not found on Object.prototype.
    schema = schema?.properties !== undefined && Object.hasOwn(schema.properties, segment) ? schema.properties[segment] : undefined;
  }
  return schema;
}

/** Returns the paths of every field marked `filePath` in the schema, in schema order. */
export function filePathFields(schema: JsonSchema = rootSchema, path: string[] = []): string[][] {
  const found: string[][] = [];
  // A field such as "a path or null" may carry the mark on the union or on its string branch.
  if (schema.filePath === true || schema.anyOf?.some((branch) => branch.filePath === true)) found.push(path);
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    found.push(...filePathFields(child, [...path, name]));
  }
  return found;
}

/** Returns the paths of every section whose schema has a key named `key`, in schema order. */
function sectionsWithKey(key: string, schema: JsonSchema = rootSchema, path: string[] = []): string[][] {
  const found: string[][] = [];
  if (schema.properties === undefined) return found;
  if (Object.hasOwn(schema.properties, key)) found.push(path);
  for (const [name, child] of Object.entries(schema.properties)) {
    found.push(...sectionsWithKey(key, child, [...path, name]));
  }
  return found;
}

/** Decodes an ajv instance path (a JSON Pointer such as `/data/imageSize`) into path segments. */
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function problemAt(
  locate: Locator,
  code: ProblemCode,
  segments: readonly string[],
  target: PositionTarget,
  fields: Pick<ConfigProblem, 'message' | 'found' | 'allowed' | 'fix'>,
): ConfigProblem {
  const { file, line, column } = locate(segments, target);
  const problem: ConfigProblem = {
    code,
    file,
    line,
    column,
    path: formatConfigPath(segments),
    message: fields.message,
    severity: 'error',
  };
  if (fields.found !== undefined) problem.found = fields.found;
  if (fields.allowed !== undefined) problem.allowed = fields.allowed;
  if (fields.fix !== undefined) problem.fix = fields.fix;
  return problem;
}

/** Builds the problem for an unknown key, located at the key, with the closest allowed key or its right section. */
function unknownKeyProblem(error: ErrorObject, locate: Locator): ConfigProblem {
  const key = String(error.params.additionalProperty);
  const parentSegments = pointerSegments(error.instancePath);
  const allowedKeys = Object.keys((error.parentSchema as JsonSchema).properties ?? {});

  let fix: string;
  const suggestion = closestMatch(key, allowedKeys);
  const parentPath = formatConfigPath(parentSegments);
  const otherSections = sectionsWithKey(key).filter((section) => formatConfigPath(section) !== parentPath);
  const dottedSegments = key.split('.');
  if (suggestion !== undefined) {
    fix = `did you mean \`${suggestion}\`?`;
  } else if (dottedSegments.length > 1 && schemaAt([...parentSegments, ...dottedSegments]) !== undefined) {
    const nestedKey = dottedSegments[dottedSegments.length - 1];
    const section = formatConfigPath([...parentSegments, ...dottedSegments.slice(0, -1)]);
    fix = `YAML keys do not nest by dots: indent \`${nestedKey}\` under the \`${section}\` section instead`;
  } else if (otherSections.length > 0) {
    const places = otherSections.map((section) => `\`${formatConfigPath([...section, key])}\``);
    fix = places.length === 1 ? `move it to ${places[0]}` : `move it to one of ${places.join(', ')}`;
  } else {
    fix = 'delete it, or rename it to one of the allowed keys';
  }

  return problemAt(locate, 'unknown-key', [...parentSegments, key], 'key', {
    message: `unknown key \`${key}\``,
    allowed: allowedKeys.join(', '),
    fix,
  });
}

/** Builds the problem for a missing required key, located at the mapping that lacks it. */
function missingKeyProblem(error: ErrorObject, locate: Locator): ConfigProblem {
  const key = String(error.params.missingProperty);
  const parentSegments = pointerSegments(error.instancePath);
  const keySchema = (error.parentSchema as JsonSchema).properties?.[key];
  const description = keySchema?.description;
  const fix =
    description === undefined
      ? `add a \`${key}\` key to this mapping`
      : `add a \`${key}\` key to this mapping: ${descriptionClause(description)}`;
  return problemAt(locate, 'missing-key', [...parentSegments, key], 'key', {
    message: `missing required key \`${key}\``,
    allowed: keySchema === undefined ? undefined : describeSchema(keySchema),
    fix,
  });
}

/** Orders the keywords of errors at one path: the first one present names the problem. */
const KEYWORD_PRIORITY = [
  'type',
  'anyOf',
  'enum',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
];

function keywordRank(error: ErrorObject): number {
  const rank = KEYWORD_PRIORITY.indexOf(error.keyword);
  return rank === -1 ? KEYWORD_PRIORITY.length : rank;
}

/**
 * Builds one problem from all errors at one path. For a union such as "integer or null", when the value
 * has the type of one branch, that branch's errors are reported ("must be at least 3") instead of the union's.
 */
function invalidValueProblem(segments: string[], errors: ErrorObject[], locate: Locator): ConfigProblem {
  let candidates = errors;
  const union = errors.find((error) => error.keyword === 'anyOf');
  if (union !== undefined) {
    const branchErrors = errors.filter((error) => error.schemaPath.startsWith(`${union.schemaPath}/`));
    const others = errors.filter((error) => error !== union && !branchErrors.includes(error));
    const matchingBranch = branchWithMatchingType(union, branchErrors);
    candidates = matchingBranch === undefined ? [union, ...others] : [...matchingBranch, ...others];
  }
  const primary = [...candidates].sort((a, b) => keywordRank(a) - keywordRank(b))[0];
  const value = primary.data;
  const schema = primary.parentSchema as JsonSchema;
  const fieldSchema = union === undefined ? schema : (union.parentSchema as JsonSchema);

  const fields: Pick<ConfigProblem, 'message' | 'found' | 'allowed' | 'fix'> = {
    message: primary.message ?? 'is invalid',
    found: formatValue(value),
    allowed: describeSchema(fieldSchema),
  };

  switch (primary.keyword) {
    case 'type':
      fields.message = `must be ${typeNoun(String(primary.params.type))}`;
      fields.found = value === null ? 'null (no value)' : `${formatValue(value)} (${valueKind(value)})`;
      fields.fix = typeFix(value, String(primary.params.type), segments);
      break;
    case 'anyOf': {
      const branchTypes = (fieldSchema.anyOf ?? []).map((branch) => typeNoun(branch.type ?? 'value'));
      fields.message = `must be ${branchTypes.join(' or ')}`;
      fields.found = `${formatValue(value)} (${valueKind(value)})`;
      break;
    }
    case 'enum': {
      const allowedValues = (primary.params.allowedValues as unknown[]).map(String);
      fields.message = `unknown value ${formatValue(value)}`;
      const suggestion = typeof value === 'string' ? closestMatch(value, allowedValues) : undefined;
      if (suggestion !== undefined) fields.fix = `did you mean \`${suggestion}\`?`;
      break;
    }
    case 'minimum':
      fields.message = `must be at least ${primary.params.limit}`;
      break;
    case 'exclusiveMinimum':
      fields.message = `must be greater than ${primary.params.limit}`;
      break;
    case 'maximum':
      fields.message = `must be at most ${primary.params.limit}`;
      break;
    case 'exclusiveMaximum':
      fields.message = `must be less than ${primary.params.limit}`;
      break;
    case 'minLength':
      fields.message =
        primary.params.limit === 1 ? 'must not be empty' : `must be at least ${primary.params.limit} characters long`;
      break;
    case 'maxLength':
      fields.message = `must be at most ${primary.params.limit} characters long`;
      break;
    case 'pattern':
      fields.message = `must match the pattern ${primary.params.pattern}`;
      fields.fix = patternFix(value, String(primary.params.pattern));
      break;
    case 'minItems':
      fields.message = `must have at least ${primary.params.limit} items`;
      break;
    case 'maxItems':
      fields.message = `must have at most ${primary.params.limit} items`;
      break;
    case 'uniqueItems': {
      const [first, second] = [primary.params.j, primary.params.i].map(Number).sort((a, b) => a - b);
      fields.message = `must not list the same item twice, but items ${first} and ${second} are equal`;
      fields.found = Array.isArray(value) ? formatValue(value[second]) : fields.found;
      fields.fix = `delete item ${second} (counting from 0)`;
      // Point at the repeated item rather than at the list.
      const located = problemAt(locate, 'duplicate-item', [...segments, String(second)], 'value', fields);
      return { ...located, path: formatConfigPath(segments) };
    }
  }
  return problemAt(locate, KEYWORD_CODES[primary.keyword] ?? 'type', segments, 'value', fields);
}

/** The problem code of each ajv keyword that `invalidValueProblem` reports. */
const KEYWORD_CODES: Record<string, ProblemCode> = {
  type: 'type',
  anyOf: 'type',
  enum: 'enum',
  minimum: 'range',
  exclusiveMinimum: 'range',
  maximum: 'range',
  exclusiveMaximum: 'range',
  minLength: 'length',
  maxLength: 'length',
  pattern: 'pattern',
  minItems: 'length',
  maxItems: 'length',
  uniqueItems: 'duplicate-item',
};

/** Returns the errors of the union branch whose type the value has, if any branch has it. */
function branchWithMatchingType(union: ErrorObject, branchErrors: ErrorObject[]): ErrorObject[] | undefined {
  const branches = (union.parentSchema as JsonSchema).anyOf ?? [];
  for (let index = 0; index < branches.length; index++) {
    const prefix = `${union.schemaPath}/${index}/`;
    const errors = branchErrors.filter((error) => error.schemaPath.startsWith(prefix));
    if (errors.length > 0 && !errors.some((error) => error.keyword === 'type')) return errors;
  }
  return undefined;
}

/** Suggests a fix for a value of the wrong type when the intent is clear, such as a quoted number. */
function typeFix(value: unknown, expectedType: string, segments: readonly string[]): string | undefined {
  const key = segments[segments.length - 1] ?? '';
  if ((expectedType === 'integer' || expectedType === 'number') && typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed !== '' && Number.isFinite(Number(trimmed))) return `write it as a plain number: \`${key}: ${trimmed}\``;
  }
  if (expectedType === 'integer' && typeof value === 'number' && Number.isFinite(value)) {
    return `use a whole number, such as ${Math.round(value)}`;
  }
  if (expectedType === 'boolean' && typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true' || lower === 'false') return `write ${lower} without quotes`;
    if (['yes', 'no', 'on', 'off', 'y', 'n'].includes(lower)) {
      return `write true or false: YAML 1.2 reads \`${value}\` as a string, not as a boolean`;
    }
  }
  if (expectedType === 'object' && value === null && key !== '') {
    return `indent at least one key under \`${key}:\`, write \`${key}: {}\`, or delete the line to use the defaults`;
  }
  if (expectedType === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
    return `put it in quotes: \`${key}: "${value}"\``;
  }
  return undefined;
}

/**
 * Suggests a value for a string that fails its pattern, by replacing each run of characters other than
 * letters, digits, dot, dash and underscore with a dash. Suggests nothing when the result still fails.
 */
function patternFix(value: unknown, pattern: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  const candidate = value
    .trim()
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  if (candidate === '' || !new RegExp(pattern, 'u').test(candidate)) return undefined;
  return `replace the other characters, for example with \`${candidate}\``;
}

function typeNoun(type: string): string {
  switch (type) {
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    case 'object':
      return 'a mapping of keys to values';
    case 'array':
      return 'a list';
    case 'null':
      return 'null';
    default:
      return `a ${type}`;
  }
}

/** Names the YAML kind of a parsed value, as used in `found` for a value of the wrong type. */
function valueKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'not a number';
    if (!Number.isFinite(value)) return 'an infinite number';
    return Number.isInteger(value) ? 'an integer' : 'a number';
  }
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

/** Formats a parsed value the way it reads in YAML: strings quoted, mappings and lists summarised. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '.nan';
    if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
    return String(value);
  }
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return `a mapping with keys ${Object.keys(value).join(', ') || '(none)'}`;
  return String(value);
}

/** Describes in words the values a schema accepts, such as "an integer from 16 to 1024". */
export function describeSchema(schema: JsonSchema): string {
  if (schema.anyOf !== undefined) return schema.anyOf.map(describeSchema).join(' or ');
  if (schema.enum !== undefined) {
    const values = schema.enum.map(String);
    return values.length === 1 ? `only ${values[0]}` : `one of ${values.join(', ')}`;
  }

  switch (schema.type) {
    case 'integer':
    case 'number':
      return `${typeNoun(schema.type)}${describeRange(schema)}`;
    case 'string': {
      const parts = ['a'];
      if (schema.minLength !== undefined && schema.minLength > 0) parts.push('non-empty');
      parts.push('string');
      if (schema.maxLength !== undefined) parts.push(`of at most ${schema.maxLength} characters`);
      if (schema.pattern !== undefined) parts.push(`matching ${schema.pattern}`);
      return parts.join(' ');
    }
    case 'object': {
      if (schema.properties !== undefined) return `a mapping with the keys ${Object.keys(schema.properties).join(', ')}`;
      // A record, such as a mapping of config paths to lists of values.
      const values = Object.values(schema.patternProperties ?? {})[0];
      return values === undefined ? 'a mapping' : `a mapping of keys to ${pluralNoun(describeSchema(values))}`;
    }
    case 'array': {
      const counts: string[] = [];
      if (schema.minItems !== undefined) counts.push(`at least ${schema.minItems}`);
      if (schema.maxItems !== undefined) counts.push(`at most ${schema.maxItems}`);
      const distinct = schema.uniqueItems === true ? 'distinct ' : '';
      const items = schema.items === undefined ? 'values' : pluralNoun(describeSchema(schema.items));
      return `a list of ${counts.length > 0 ? `${counts.join(' and ')} ` : ''}${distinct}${items}`;
    }
    default:
      return schema.type === undefined ? 'any value' : typeNoun(schema.type);
  }
}

/** Turns a singular description such as "a non-empty string" into its plural, "non-empty strings". */
function pluralNoun(description: string): string {
  if (description === 'any value') return 'values of any type';
  return description.replace(/^an? /, '').replace(/\b(string|integer|number|list|mapping)\b/, '$1s');
}

function describeRange(schema: JsonSchema): string {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema;
  if (minimum !== undefined && maximum !== undefined) return ` from ${minimum} to ${maximum}`;

  const bounds: string[] = [];
  if (minimum !== undefined) bounds.push(`at least ${minimum}`);
  if (exclusiveMinimum !== undefined) bounds.push(`greater than ${exclusiveMinimum}`);
  if (maximum !== undefined) bounds.push(`at most ${maximum}`);
  if (exclusiveMaximum !== undefined) bounds.push(`less than ${exclusiveMaximum}`);
  if (bounds.length === 0) return '';
  // "a number greater than 0 and at most 1", "an integer of at least 1".
  return bounds[0].startsWith('at ') && bounds.length === 1 ? ` of ${bounds[0]}` : ` ${bounds.join(' and ')}`;
}

/** Turns a schema description into a clause: lower-case first letter, no final period. */
function descriptionClause(text: string): string {
  const clause = text.replace(/\.$/, '');
  return /^[A-Z][a-z]/.test(clause) ? clause[0].toLowerCase() + clause.slice(1) : clause;
}
