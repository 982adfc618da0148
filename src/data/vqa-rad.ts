/**
 * Reader for the VQA-RAD release (Lau, Gayen, Ben Abacha and Demner-Fushman, Scientific Data 5, 180251,
 * 2018) exactly as published: one JSON file of question-answer records and a folder of JPEG images.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DataError } from '../errors.ts';
import type { QuestionRecord } from './reports.ts';
import { requireDataFolder, type DataRoot } from './root.ts';

/** File name of the question-answer records inside the data folder. */
export const METADATA_FILE_NAME = 'VQA_RAD Dataset Public.json';

/** Folder of the images inside the data folder. */
export const IMAGE_FOLDER_NAME = 'images';

/** Error-message sentence that names the VQA-RAD download and its citation. */
export const VQA_RAD_SOURCE =
  `Download VQA-RAD (Lau et al., "A dataset of clinically generated visual questions and answers about ` +
  `radiology images", Scientific Data 5, 180251 (2018); Open Science Framework project 89kps, ` +
  `https://osf.io/89kps/, licence CC0) and put "${METADATA_FILE_NAME}" and the folder ` +
  `${IMAGE_FOLDER_NAME}/ of JPEG images into one folder.`;

/** One image of the release with every record that refers to it. */
export interface VqaRadImage {
  /** File name inside images/, e.g. "synpic54610.jpg". */
  name: string;
  /** The records' `image_organ`: HEAD, CHEST or ABD in the release. */
  organ: string;
  /** Distinct `image_case_url` values of the records, sorted. Most images have one. */
  caseUrls: string[];
  /** The image's records in ascending `qid` order. */
  records: QuestionRecord[];
  /** 1-based line of the metadata file on which the image's first record (in file order) starts. */
  line: number;
}

/** At most this many invalid records are listed in one error message. */
const MAX_LISTED_PROBLEMS = 10;

/**
 * Read and check the metadata file of the VQA-RAD folder `root` and group its records by image.
 * Returns the images that have records, sorted by file name; image files without records are not read.
 * Throws DataError when the folder or the file is missing, the JSON is invalid, a record lacks a field,
 * or the records of one image disagree on `image_organ`.
 */
export async function readVqaRad(root: DataRoot): Promise<VqaRadImage[]> {
  await requireDataFolder(root, VQA_RAD_SOURCE);
  const metadataPath = path.join(root.path, METADATA_FILE_NAME);
  const text = await readFile(metadataPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    const problem = error.code === 'ENOENT' ? 'was not found' : `could not be read (${error.message})`;
    throw new DataError(
      `Metadata file ${metadataPath} ${problem} in the data folder set by ${root.origin}. ${VQA_RAD_SOURCE} ` +
        `Then point data.root or the environment variable TANDEM_DATA_ROOT at that folder.`,
      { cause: error },
    );
  });

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DataError(
      `Metadata file ${metadataPath} is not valid JSON (${(error as Error).message}). ` +
        `Replace it with the unchanged file from the VQA-RAD release.`,
      { cause: error },
    );
  }
  if (!Array.isArray(parsed)) {
    throw new DataError(
      `Metadata file ${metadataPath} must contain a JSON array of records, but it contains ${describeJson(parsed)}. ` +
        `Replace it with the unchanged file from the VQA-RAD release.`,
    );
  }
  return groupByImage(parsed, metadataPath, arrayElementLines(text));
}

/**
 * Return the 1-based line on which each element of the top-level JSON array in `text` starts. `text`
 * must be valid JSON; the scan skips over strings, so brackets and commas inside them do not count.
 */
export function arrayElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectingElement = false;
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === '\n') line++;
    if (inString) {
      if (character === '\\') index++;
      else if (character === '"') inString = false;
      continue;
    }
    if (/\s/.test(character)) continue;
    if (depth === 1 && expectingElement && character !== ']') {
      lines.push(line);
      expectingElement = false;
    }
    if (character === '"') inString = true;
    else if (character === '[' || character === '{') {
      depth++;
      if (depth === 1) expectingElement = true;
    } else if (character === ']' || character === '}') depth--;
    else if (character === ',' && depth === 1) expectingElement = true;
  }
  return lines;
}

/** A record after its fields were checked. */
interface CheckedRecord extends QuestionRecord {
  imageName: string;
  organ: string;
  caseUrl: string;
  /** 1-based line of the metadata file on which the record starts. */
  line: number;
}

function groupByImage(rawRecords: unknown[], metadataPath: string, recordLines: readonly number[]): VqaRadImage[] {
  const problems: string[] = [];
  const records: CheckedRecord[] = [];
  rawRecords.forEach((raw, index) => {
    const checked = checkRecord(raw, index, problems);
    if (checked) records.push({ ...checked, line: recordLines[index] ?? 0 });
  });
  if (problems.length > 0) throw invalidRecordsError(problems, metadataPath);

  const byImage = new Map<string, CheckedRecord[]>();
  for (const record of records) {
    const group = byImage.get(record.imageName);
    if (group) group.push(record);
    else byImage.set(record.imageName, [record]);
  }

  const images: VqaRadImage[] = [];
  for (const [name, group] of byImage) {
    const organs = [...new Set(group.map((record) => record.organ))];
    if (organs.length > 1) {
      const detail = group.map((record) => `qid ${record.qid}: ${record.organ}`).join(', ');
      problems.push(`image ${name} has records with different image_organ values (${detail})`);
      continue;
    }
    group.sort((a, b) => a.qid - b.qid);
    images.push({
      name,
      organ: organs[0],
      caseUrls: [...new Set(group.map((record) => record.caseUrl))].sort(),
      records: group.map(({ qid, question, answer, questionType }) => ({ qid, question, answer, questionType })),
      line: Math.min(...group.map((record) => record.line)),
    });
  }
  if (problems.length > 0) throw invalidRecordsError(problems, metadataPath);

  return images.sort((a, b) => compareStrings(a.name, b.name));
}

/** Check one raw record; push a description of each problem to `problems` and return undefined if any. */
function checkRecord(raw: unknown, index: number, problems: string[]): Omit<CheckedRecord, 'line'> | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`record ${index} is ${describeJson(raw)}, not an object`);
    return undefined;
  }
  const fields = raw as Record<string, unknown>;
  const found: string[] = [];

  // `qid` is a number in all records of the release but the first, where it is the string "0".
  const qid = typeof fields.qid === 'string' && fields.qid.trim() !== '' ? Number(fields.qid) : fields.qid;
  if (typeof qid !== 'number' || !Number.isFinite(qid)) found.push(`qid is ${describeJson(fields.qid)}, not a number`);

  const strings: Record<string, string> = {};
  for (const key of ['image_name', 'image_organ', 'image_case_url', 'question', 'question_type']) {
    const value = fields[key];
    if (typeof value === 'string' && value.trim() !== '') strings[key] = value.trim();
    else found.push(`${key} is ${describeJson(value)}, not a non-empty string`);
  }
  // A few `answer` values of the release are JSON numbers (counts such as 4).
  const answer = fields.answer;
  if (!((typeof answer === 'string' && answer.trim() !== '') || (typeof answer === 'number' && Number.isFinite(answer)))) {
    found.push(`answer is ${describeJson(answer)}, not a non-empty string or a number`);
  }
  const imageName = strings.image_name;
  if (imageName !== undefined && (imageName !== path.basename(imageName) || imageName === '..' || imageName === '.')) {
    found.push(`image_name "${imageName}" is not a plain file name`);
  }

  if (found.length > 0) {
    problems.push(`record ${index} (qid ${describeJson(fields.qid)}): ${found.join('; ')}`);
    return undefined;
  }
  return {
    qid: qid as number,
    question: strings.question,
    answer: String(answer).trim(),
    questionType: strings.question_type,
    imageName,
    organ: strings.image_organ,
    caseUrl: strings.image_case_url,
  };
}

function invalidRecordsError(problems: string[], metadataPath: string): DataError {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
  const more = problems.length > MAX_LISTED_PROBLEMS ? `; and ${problems.length - MAX_LISTED_PROBLEMS} more` : '';
  return new DataError(
    `Metadata file ${metadataPath} has ${problems.length} invalid record(s): ${listed}${more}. ` +
      `Correct these records, or replace the file with the unchanged one from the VQA-RAD release.`,
  );
}

/** Order strings by UTF-16 code units, independent of the locale. */
export function compareStrings(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}

function describeJson(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}
