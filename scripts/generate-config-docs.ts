/**
 * Writes configs/experiment.schema.json and the generated part of configs/README.md from the experiment
 * schema. Run it with `npm run docs:config` after changing src/config/schema.ts; tests/config/docs.test.ts
 * fails while the committed files differ from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  JSON_SCHEMA_FILE,
  REFERENCE_FILE,
  renderFieldReference,
  renderJsonSchema,
  replaceGeneratedPart,
} from '../src/config/reference.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const schemaPath = path.join(repositoryRoot, JSON_SCHEMA_FILE);
writeFileSync(schemaPath, renderJsonSchema());
console.log(`wrote ${JSON_SCHEMA_FILE}`);

const referencePath = path.join(repositoryRoot, REFERENCE_FILE);
const reference = readFileSync(referencePath, 'utf8');
writeFileSync(referencePath, replaceGeneratedPart(reference, renderFieldReference()));
console.log(`wrote the field reference in ${REFERENCE_FILE}`);
