/**
 * Step 1 of the example: write VQA-RAD the way a hospital system might export it, so that the example
 * starts from a CSV layout of its own rather than from tandem's. The export has one row per question,
 * semicolon-separated with CRLF line ends, under these columns:
 *
 *   Study;Image file;Body region;Question;Answer;Question kind
 *
 * Usage: node --import tsx examples/vqa-rad-as-manifest/export-vqa-rad.ts [VQA-RAD folder] [output CSV]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const exampleFolder = import.meta.dirname;
const releaseFolder = process.argv[2] ?? path.resolve(exampleFolder, '../../../shared/data/vqa-rad');
const output = process.argv[3] ?? path.join(exampleFolder, 'data/vqa-rad-export.csv');

interface ReleaseRecord {
  qid: number | string;
  image_name: string;
  image_organ: string;
  image_case_url: string;
  question: string;
  answer: string | number;
  question_type: string;
}

const records: ReleaseRecord[] = JSON.parse(readFileSync(path.join(releaseFolder, 'VQA_RAD Dataset Public.json'), 'utf8'));
const quote = (field: string) => (/[;"\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field);
const rows = [['Study', 'Image file', 'Body region', 'Question', 'Answer', 'Question kind']];
for (const record of records) {
  // The MedPix case id is the `id` parameter of the case URL.
  const study = new URL(record.image_case_url).searchParams.get('id') ?? record.image_case_url;
  rows.push([study, record.image_name, record.image_organ, record.question, String(record.answer), record.question_type]);
}
mkdirSync(path.dirname(output), { recursive: true });
writeFileSync(output, rows.map((row) => row.map(quote).join(';')).join('\r\n') + '\r\n');
console.log(`wrote ${rows.length - 1} question rows to ${output}`);
