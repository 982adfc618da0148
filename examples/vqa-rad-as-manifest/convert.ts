/**
 * Step 2 of the example: turn the export of step 1 into a tandem manifest by following the README's
 * "Your own data" section. The export has one row per question; the manifest needs one row per image, so
 * the rows are grouped by image file:
 *
 * - image: the path of the image file, relative to the manifest's folder;
 * - label: the body region; patient: the study (an image in several studies keeps its first);
 * - report: a list of sentences "question answer.", each typed by its question kind. Questions of kind
 *   ORGAN are left out, because they name the body region, which is the label.
 *
 * Usage: node --import tsx examples/vqa-rad-as-manifest/convert.ts [export CSV] [image folder] [manifest]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../../src/data/index.ts';

const exampleFolder = import.meta.dirname;
const exportFile = process.argv[2] ?? path.join(exampleFolder, 'data/vqa-rad-export.csv');
const imageFolder = process.argv[3] ?? path.resolve(exampleFolder, '../../../shared/data/vqa-rad/images');
const manifestFile = process.argv[4] ?? path.join(exampleFolder, 'data/manifest.jsonl');

const { records, errors } = parseCsv(readFileSync(exportFile, 'utf8'), ';');
if (errors.length > 0) throw new Error(`${exportFile}:${errors[0].line}: ${errors[0].message}`);
const [header, ...body] = records;
const column = (name: string) => {
  const index = header.fields.indexOf(name);
  if (index < 0) throw new Error(`${exportFile} has no column "${name}".`);
  return index;
};
const [study, imageFile, region, question, answer, kind] = ['Study', 'Image file', 'Body region', 'Question', 'Answer', 'Question kind'].map(column);

interface ManifestRow {
  image: string;
  label: string;
  patient: string;
  report: { text: string; type: string }[];
}
const rowsByImage = new Map<string, ManifestRow>();
for (const { fields } of body) {
  const name = fields[imageFile];
  let row = rowsByImage.get(name);
  if (row === undefined) {
    const image = path.relative(path.dirname(manifestFile), path.join(imageFolder, name)).split(path.sep).join('/');
    row = { image, label: fields[region], patient: fields[study], report: [] };
    rowsByImage.set(name, row);
  }
  const type = fields[kind].split(',')[0].trim().toUpperCase();
  if (type === 'ORGAN') continue;
  row.report.push({ text: `${fields[question].trim()} ${fields[answer].trim()}.`, type });
}

mkdirSync(path.dirname(manifestFile), { recursive: true });
writeFileSync(manifestFile, [...rowsByImage.values()].map((row) => JSON.stringify(row)).join('\n') + '\n');
console.log(`wrote ${rowsByImage.size} images to ${manifestFile}`);
