/**
 * Property test of problem positions: generate valid configs in varied YAML layouts, corrupt one random
 * key or value, and check that the loader reports exactly one schema problem, in the right file, at the
 * corrupted node's line and column. The generator records where it writes each node, so the expected
 * positions do not come from the YAML parser that the loader uses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import path from 'node:path';
import { checkConfig } from '../../src/config/load.ts';
import type { ConfigProblem } from '../../src/config/problems.ts';
import { ExperimentSchema } from '../../src/config/schema.ts';
import type { JsonSchema } from '../../src/config/validate.ts';
import { Random } from '../../src/random.ts';
import { createFixtureFolder, type FixtureFolder } from './fixtures.ts';

const TRIALS = 150;
const rootSchema = ExperimentSchema as unknown as JsonSchema;

/** A key or scalar value that the generator wrote, with what it takes to corrupt it. */
interface WrittenNode {
  kind: 'key' | 'value';
  /** The config path of the key, or of the value. */
  path: string[];
  offset: number;
  length: number;
  /** The value's schema; for a key, the schema of the mapping that contains it. */
  schema: JsonSchema;
}

/** YAML text written piece by piece, remembering the offset of every key and scalar value. */
class YamlWriter {
  text = '';
  nodes: WrittenNode[] = [];

  constructor(
    private readonly random: Random,
    private readonly indentUnit: number,
  ) {}

  /** Writes the entries of a mapping in block style at `depth`. */
  writeBlockMapping(entries: Entry[], parentSchema: JsonSchema, path: string[], depth: number): void {
    const indent = ' '.repeat(depth * this.indentUnit);
    for (const entry of entries) {
      if (this.random.next() < 0.15) this.text += `${indent}# a comment line\n`;
      if (this.random.next() < 0.1) this.text += '\n';
      this.text += indent;
      this.writeKey(entry.key, parentSchema, [...path, entry.key]);
      this.text += ':';
      if (entry.children === undefined) {
        this.text += ' '.repeat(1 + this.random.int(2));
        this.writeScalar(entry, [...path, entry.key]);
        if (this.random.next() < 0.2) this.text += '  # a trailing comment';
        this.text += '\n';
      } else if (entry.children.length === 0) {
        this.text += ' {}\n';
      } else if (entry.children.every((child) => child.children === undefined) && this.random.next() < 0.3) {
        this.text += ' ';
        this.writeFlowMapping(entry.children, entry.schema, [...path, entry.key]);
        this.text += '\n';
      } else {
        this.text += '\n';
        this.writeBlockMapping(entry.children, entry.schema, [...path, entry.key], depth + 1);
      }
    }
  }

  private writeFlowMapping(entries: Entry[], schema: JsonSchema, path: string[]): void {
    this.text += '{';
    entries.forEach((entry, index) => {
      if (index > 0) this.text += ', ';
      this.writeKey(entry.key, schema, [...path, entry.key]);
      this.text += ': ';
      this.writeScalar(entry, [...path, entry.key]);
    });
    this.text += '}';
  }

  private writeKey(key: string, parentSchema: JsonSchema, keyPath: string[]): void {
    const text = this.random.next() < 0.1 ? JSON.stringify(key) : key;
    this.nodes.push({ kind: 'key', path: keyPath, offset: this.text.length, length: text.length, schema: parentSchema });
    this.text += text;
  }

  private writeScalar(entry: Entry, valuePath: string[]): void {
    const text = scalarText(entry.value, this.random);
    this.nodes.push({ kind: 'value', path: valuePath, offset: this.text.length, length: text.length, schema: entry.schema });
    this.text += text;
  }
}

/** One key of a generated mapping: a leaf value, or the entries of a nested section. */
interface Entry {
  key: string;
  schema: JsonSchema;
  value?: unknown;
  children?: Entry[];
}

/** Generates a random valid subset of a section's keys, in random order. */
function generateSection(schema: JsonSchema, random: Random, path: string[]): Entry[] {
  const allowedKeys = variantKeys(schema, random);
  const entries: Entry[] = [];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (!allowedKeys.has(key)) continue;
    if (path.length === 0 && key === 'name') {
      entries.push({ key, schema: child, value: `experiment-${random.int(1000)}` });
      continue;
    }
    if (random.next() < 0.45) continue;
    const variant = (schema as JsonSchema & { chosenVariant?: string }).chosenVariant;
    if (key === 'type' && variant !== undefined) {
      entries.push({ key, schema: child, value: variant });
    } else if (child.type === 'object' && child.properties !== undefined) {
      entries.push({ key, schema: child, children: generateSection(child, random, [...path, key]) });
    } else if (child.type !== 'object' && !(child.type === undefined && child.anyOf === undefined && child.enum === undefined)) {
      entries.push({ key, schema: child, value: randomValue(child, random) });
    }
  }
  // The chosen variant's `type` goes in the file, so that its keys are the ones allowed.
  const variant = (schema as JsonSchema & { chosenVariant?: string }).chosenVariant;
  if (variant !== undefined && !entries.some((entry) => entry.key === 'type')) {
    entries.push({ key: 'type', schema: schema.properties!.type, value: variant });
  }
  return shuffle(entries, random);
}

/**
 * Returns the keys a section may have. For a section whose keys depend on its `type` (an allOf of
 * if/then clauses on `type`), it picks a type and allows the keys of that type and the common ones.
 */
function variantKeys(schema: JsonSchema, random: Random): Set<string> {
  const keys = new Set(Object.keys(schema.properties ?? {}));
  const clauses = (schema.allOf ?? []).filter((clause) => typeof clause.if?.properties?.type?.const === 'string');
  if (clauses.length === 0) return keys;
  const chosen = clauses[random.int(clauses.length)];
  (schema as JsonSchema & { chosenVariant?: string }).chosenVariant = chosen.if!.properties!.type.const as string;
  for (const clause of clauses) {
    if (clause === chosen) continue;
    for (const key of Object.keys(clause.then?.properties ?? {})) keys.delete(key);
  }
  return keys;
}

function randomValue(schema: JsonSchema, random: Random): unknown {
  if (schema.anyOf !== undefined) return randomValue(schema.anyOf[random.int(schema.anyOf.length)], random);
  if (schema.enum !== undefined) return schema.enum[random.int(schema.enum.length)];
  switch (schema.type) {
    case 'null':
      return null;
    case 'boolean':
      return random.next() < 0.5;
    case 'integer': {
      const low = schema.minimum ?? (schema.exclusiveMinimum ?? -1) + 1;
      const high = Math.min(schema.maximum ?? (schema.exclusiveMaximum ?? Infinity) - 1, low + 50);
      return low + random.int(high - low + 1);
    }
    case 'number': {
      const low = schema.minimum ?? schema.exclusiveMinimum ?? 0;
      const high = schema.maximum ?? schema.exclusiveMaximum ?? low + 10;
      // Three decimals between the bounds, never on an exclusive bound.
      const value = Math.round((low + (high - low) * (0.05 + 0.9 * random.next())) * 1000) / 1000;
      return value > low && value < high ? value : (low + high) / 2;
    }
    case 'string':
      return schema.pattern !== undefined ? `name-${random.int(1000)}` : `folder/item-${random.int(1000)}`;
    case 'array': {
      const count = (schema.minItems ?? 0) + random.int(2);
      return Array.from({ length: count }, (_, index) => `ITEM${index}`);
    }
    default:
      throw new Error(`no generator for ${JSON.stringify(schema)}`);
  }
}

/** Writes a value as a YAML scalar or flow list, sometimes in an equivalent but less usual form. */
function scalarText(value: unknown, random: Random): string {
  if (value === null) return random.next() < 0.5 ? 'null' : '~';
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  if (typeof value === 'string') {
    const plainIsSafe = /^[A-Za-z][A-Za-z0-9._/-]*$/.test(value) && !['true', 'false', 'null', 'yes', 'no'].includes(value);
    return plainIsSafe && random.next() < 0.7 ? value : random.next() < 0.5 ? JSON.stringify(value) : `'${value}'`;
  }
  return String(value);
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** The text that replaces a node, and the problem code that the loader must report for it. */
interface Corruption {
  text: string;
  code: ConfigProblem['code'];
}

/** Chooses a way to make a node invalid that the schema rejects. */
function corruptionFor(node: WrittenNode, random: Random): Corruption {
  if (node.kind === 'key') {
    const key = node.path[node.path.length - 1];
    const allowed = Object.keys(node.schema.properties ?? {});
    let misspelt = `${key}x`;
    if (random.next() < 0.5 && key.length > 3) misspelt = key.slice(0, 1) + key.slice(2);
    if (allowed.includes(misspelt)) misspelt = `${key}Unknown`;
    return { text: misspelt, code: 'unknown-key' };
  }

  const schema = node.schema;
  const options: Corruption[] = [];
  const branches = schema.anyOf ?? [schema];
  const valueSchema = branches.find((branch) => branch.type !== 'null') ?? schema;
  if (valueSchema.enum !== undefined) options.push({ text: 'bogus-choice', code: 'enum' });
  switch (valueSchema.type) {
    case 'integer':
    case 'number':
      options.push({ text: 'many', code: 'type' });
      if (valueSchema.minimum !== undefined) options.push({ text: String(valueSchema.minimum - 1), code: 'range' });
      if (valueSchema.exclusiveMinimum !== undefined) options.push({ text: String(valueSchema.exclusiveMinimum), code: 'range' });
      if (valueSchema.maximum !== undefined) options.push({ text: String(valueSchema.maximum + 1), code: 'range' });
      if (valueSchema.type === 'integer') options.push({ text: '2.5', code: 'type' });
      break;
    case 'boolean':
      options.push({ text: 'maybe', code: 'type' }, { text: '"true"', code: 'type' });
      break;
    case 'string':
      options.push({ text: '[a, b]', code: 'type' });
      if (valueSchema.enum === undefined && valueSchema.minLength !== undefined) options.push({ text: '""', code: 'length' });
      if (valueSchema.pattern !== undefined) options.push({ text: '"two words"', code: 'pattern' });
      break;
    case 'array':
      options.push({ text: '7', code: 'type' });
      break;
  }
  return options[random.int(options.length)];
}

/** Returns the 1-based line and column of an offset in `text`, counted here rather than by the YAML parser. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return `${line}:${column}`;
}

/** One generated experiment: one file, or a base file and a config that extends it. */
interface GeneratedFiles {
  files: { name: string; writer: YamlWriter }[];
}

function generateFiles(random: Random): GeneratedFiles {
  const entries = generateSection(structuredClone(rootSchema), random, []);
  const indentUnit = random.next() < 0.5 ? 2 : 4;
  const child = new YamlWriter(random, indentUnit);
  if (random.next() < 0.6) {
    child.writeBlockMapping(entries, rootSchema, [], 0);
    return { files: [{ name: 'config.yaml', writer: child }] };
  }

  // Split the top-level keys between a base and the config that extends it, so that no key of one
  // file overrides a key of the other and every corrupted node stays in the merged config.
  const base = new YamlWriter(random, indentUnit);
  const baseEntries = entries.filter((entry) => entry.key !== 'name' && random.next() < 0.5);
  const childEntries = entries.filter((entry) => !baseEntries.includes(entry));
  base.writeBlockMapping(baseEntries, rootSchema, [], 0);
  child.text = 'extends: base.yaml\n';
  child.writeBlockMapping(childEntries, rootSchema, [], 0);
  return { files: [{ name: 'config.yaml', writer: child }, { name: 'base.yaml', writer: base }] };
}

function schemaProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return problems.filter((problem) => !problem.code.startsWith('cross-field/'));
}

describe('problem positions of corrupted configs', () => {
  let fixtures: FixtureFolder;
  before(() => {
    fixtures = createFixtureFolder();
  });
  after(() => fixtures.remove());

  test(`${TRIALS} random corruptions`, () => {
    const random = new Random(20240611);
    for (let trial = 0; trial < TRIALS; trial++) {
      const folder = path.join(fixtures.dir, `trial-${trial}`);
      const generated = generateFiles(random);
      for (const { name, writer } of generated.files) fixtures.write(path.join(`trial-${trial}`, name), writer.text);
      const configFile = path.join(folder, 'config.yaml');

      const valid = checkConfig(configFile);
      assert.deepEqual(schemaProblems(valid.problems), [], `trial ${trial}: the generated config is valid`);

      const candidates = generated.files.flatMap(({ name, writer }) =>
        writer.nodes.filter((node) => !(node.kind === 'key' && node.path.length === 1 && node.path[0] === 'name')).map((node) => ({ name, writer, node })),
      );
      const { name, writer, node } = candidates[random.int(candidates.length)];
      const corruption = corruptionFor(node, random);
      const corrupted = writer.text.slice(0, node.offset) + corruption.text + writer.text.slice(node.offset + node.length);
      fixtures.write(path.join(`trial-${trial}`, name), corrupted);

      const problems = schemaProblems(checkConfig(configFile).problems);
      const context = `trial ${trial}: ${node.kind} ${node.path.join('.')} in ${name} became ${corruption.text}\n${corrupted}`;
      assert.equal(problems.length, 1, `${context}\n${JSON.stringify(problems, null, 2)}`);
      const [problem] = problems;
      assert.equal(path.resolve(problem.file), path.join(folder, name), context);
      assert.equal(`${problem.line}:${problem.column}`, lineAndColumn(writer.text, node.offset), context);
      assert.equal(problem.code, corruption.code, context);
    }
  });
});
