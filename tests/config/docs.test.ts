/**
 * The schema as a document: the committed JSON Schema and field reference equal what
 * `npm run docs:config` generates, every field is described, and the shipped configs use the schema.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { checkConfig } from '../../src/config/load.ts';
import {
  configFileJsonSchema,
  JSON_SCHEMA_FILE,
  REFERENCE_END,
  REFERENCE_FILE,
  REFERENCE_START,
  renderFieldReference,
  renderJsonSchema,
} from '../../src/config/reference.ts';
import { ExperimentSchema } from '../../src/config/schema.ts';
import type { JsonSchema } from '../../src/config/validate.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODELINE = '# yaml-language-server: $schema=experiment.schema.json';
const REGENERATE = 'run `npm run docs:config` after changing src/config/schema.ts';

/** Returns every field of the schema below `schema`, with its dotted path. */
function fields(schema: JsonSchema, prefix = ''): [string, JsonSchema][] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, child]): [string, JsonSchema][] => [
    [`${prefix}${key}`, child],
    ...fields(child, `${prefix}${key}.`),
  ]);
}

describe('generated config documents', () => {
  test('committed JSON Schema is current', () => {
    const committed = readFileSync(path.join(repositoryRoot, JSON_SCHEMA_FILE), 'utf8');
    assert.ok(committed === renderJsonSchema(), `${JSON_SCHEMA_FILE} is out of date: ${REGENERATE}`);
  });

  test('committed field reference is current', () => {
    const committed = readFileSync(path.join(repositoryRoot, REFERENCE_FILE), 'utf8');
    const start = committed.indexOf(REFERENCE_START);
    const end = committed.indexOf(REFERENCE_END);
    assert.notEqual(start, -1, `${REFERENCE_FILE} lacks the start marker`);
    assert.ok(end > start, `${REFERENCE_FILE} lacks the end marker after the start marker`);
    const generatedPart = committed.slice(start, end + REFERENCE_END.length + 1);
    assert.ok(generatedPart === renderFieldReference(), `the field reference in ${REFERENCE_FILE} is out of date: ${REGENERATE}`);
  });

  test('reference lists every field', () => {
    const reference = renderFieldReference();
    for (const [name, schema] of fields(ExperimentSchema as unknown as JsonSchema)) {
      const isSection = schema.type === 'object' && schema.properties !== undefined;
      assert.ok(reference.includes(isSection ? `### \`${name}\`` : `| \`${name}\` |`), name);
    }
  });
});

describe('experiment schema', () => {
  test('every field has a description', () => {
    for (const [name, schema] of fields(ExperimentSchema as unknown as JsonSchema)) {
      assert.ok((schema.description ?? '').length > 10, `${name} has no description`);
    }
  });

  test('every number has a range', () => {
    for (const [name, schema] of fields(ExperimentSchema as unknown as JsonSchema)) {
      for (const branch of schema.anyOf ?? [schema]) {
        if (branch.type !== 'number' && branch.type !== 'integer') continue;
        assert.ok(branch.minimum !== undefined || branch.exclusiveMinimum !== undefined, `${name} has no lower bound`);
      }
    }
  });

  test('file schema accepts a base without a name', () => {
    const validate = new Ajv({ strict: false }).compile(configFileJsonSchema());
    assert.equal(validate({ extends: ['base.yaml'], data: { imageSize: 48 } }), true, JSON.stringify(validate.errors));
    assert.equal(validate({ data: { imageSiz: 48 } }), false);
    assert.equal(validate({ model: { textDropRate: 2 } }), false);
  });
});

describe('shipped configs', () => {
  const configs = readdirSync(path.join(repositoryRoot, 'configs')).filter((name) => name.endsWith('.yaml'));

  test('there are shipped configs', () => {
    assert.ok(configs.includes('vqa-rad.yaml'), configs.join(', '));
    assert.ok(configs.includes('smoke.yaml'), configs.join(', '));
  });

  for (const name of configs) {
    test(`${name} starts with the schema modeline`, () => {
      const text = readFileSync(path.join(repositoryRoot, 'configs', name), 'utf8');
      assert.equal(text.split('\n')[0], MODELINE);
    });

    test(`${name} is valid for loader and editor`, () => {
      const file = path.join(repositoryRoot, 'configs', name);
      assert.deepEqual(checkConfig(file).problems, []);
      const validate = new Ajv({ strict: false }).compile(configFileJsonSchema());
      assert.equal(validate(parse(readFileSync(file, 'utf8'))), true, JSON.stringify(validate.errors));
    });
  }
});
