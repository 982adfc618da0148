/**
 * Reader for a data set manifest: a JSON Lines or CSV file with one row per image that gives the image
 * path, the label, the patient, optionally the split, and one or more reports. docs/data-format.md
 * describes the format. Every problem is collected with its line; no row stops the reading of the others.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DataConfig } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import { parseCsv } from './csv.ts';
import { closestName, didYouMean, type DataProblem, type DataProblemCode } from './problems.ts';
import type { ReportSentence } from './reports.ts';
import { normaliseSentence, splitSentences } from './sentences.ts';
import { SPLIT_NAMES, type DataSource, type DatasetEntry, type SplitName } from './types.ts';

/** Manifest file extensions and the format each means. */
export const MANIFEST_FORMATS: Readonly<Record<string, 'jsonl' | 'csv' | 'tsv'>> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
  '.tsv': 'tsv',
};

/** The fields of a manifest row that contain one string each. */
const TEXT_FIELDS = ['image', 'label', 'patient', 'id', 'split'] as const;
type TextField = (typeof TEXT_FIELDS)[number];
const REQUIRED_FIELDS: readonly TextField[] = ['image', 'label', 'patient'];

/** A report as the manifest gives it, before sentence splitting and typing. */
type RawReport =
  | { name: string; paragraph: string }
  | { name: string; sentences: { text: string; type?: string }[] };

/** A manifest row whose syntax was valid, in the same shape for both file formats. */
interface RawRow {
  line: number;
  fields: Partial<Record<TextField, string>>;
  /** Undefined when the row gives no report field at all. */
  reports?: RawReport[];
  /** Reason that `reports` is empty, in the row's own terms, when it is. */
  emptyReason?: string;
}

/** Collects problems for one manifest file. */
class ProblemList {
  readonly problems: DataProblem[] = [];
  constructor(private readonly file: string) {}

  error(line: number, code: DataProblemCode, message: string): void {
    this.problems.push({ file: this.file, line, code, message, severity: 'error' });
  }

  warning(line: number, code: DataProblemCode, message: string): void {
    this.problems.push({ file: this.file, line, code, message, severity: 'warning' });
  }
}

/**
 * Read the manifest `file` (absolute) into entries and problems. `origin` names the setting that gave
 * the path, for the error when the file is missing. Throws DataError only when the file cannot be read
 * or its extension names no manifest format; every problem inside the file is returned instead.
 */
export async function readManifest(file: string, data: DataConfig, origin: string): Promise<DataSource> {
  const format = MANIFEST_FORMATS[path.extname(file).toLowerCase()];
  if (format === undefined) {
    throw new DataError(
      `Manifest file ${file} has the extension "${path.extname(file)}", but a manifest must be JSON Lines ` +
        `(.jsonl) or CSV (.csv, or .tsv for tab-separated). Rename it or convert it; docs/data-format.md describes both.`,
    );
  }
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    const problem = error.code === 'ENOENT' ? 'was not found' : `could not be read (${error.message})`;
    throw new DataError(`Manifest file ${file} ${problem} (set by ${origin}). Check the path.`, { cause: error });
  });

  const problems = new ProblemList(file);
  const rows = format === 'jsonl' ? parseJsonLines(text, problems) : parseCsvRows(text, format, problems);
  if (rows.count === 0 && problems.problems.length === 0) {
    problems.error(1, 'invalid-row', 'the manifest has no rows. Write one row per image; docs/data-format.md describes the format.');
  }
  const invalidSplitLines = new Set<number>();
  const entries = rows.entries.flatMap((row) => {
    const entry = toEntry(row, file, data, problems, invalidSplitLines);
    return entry ? [entry] : [];
  });
  const hasSplits = checkSplitColumn(entries, invalidSplitLines, problems);
  return {
    kind: 'manifest',
    file,
    root: file,
    entries,
    rows: rows.count,
    problems: problems.problems,
    hasSplits,
    missingImageAdvice: `Image paths are relative to the manifest's folder ${path.dirname(file)}; check the path or copy the file there.`,
  };
}

/** Rows that parsed, and the number of rows in the file including those that did not. */
interface ParsedRows {
  entries: RawRow[];
  count: number;
}

function parseJsonLines(text: string, problems: ProblemList): ParsedRows {
  const rows: RawRow[] = [];
  const unknownKeys = new Map<string, number>();
  let count = 0;
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r\n|\r|\n/);
  lines.forEach((lineText, index) => {
    const line = index + 1;
    if (lineText.trim() === '') return;
    count++;
    let value: unknown;
    try {
      value = JSON.parse(lineText);
    } catch (error) {
      const hint = ['[', '{'].includes(lineText.trim())
        ? ' JSON Lines needs each object complete on its own line, not a pretty-printed JSON document.'
        : '';
      const reason = (error as Error).message;
      problems.error(line, 'invalid-row', `this line is not valid JSON (${reason}). Each line must contain one JSON object.${hint}`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.error(line, 'invalid-row', `this line contains ${describeJson(value)}, but each line must contain one JSON object.`);
      return;
    }
    const row = readJsonRow(value as Record<string, unknown>, line, problems);
    for (const key of Object.keys(value)) {
      if (!JSON_KEYS.includes(key) && !unknownKeys.has(key)) unknownKeys.set(key, line);
    }
    if (row) rows.push(row);
  });
  for (const [key, line] of unknownKeys) {
    problems.warning(
      line,
      'unknown-field',
      `field "${key}" is not a manifest field and is ignored${didYouMean(key, JSON_KEYS)}. Known fields: ${JSON_KEYS.join(', ')}.`,
    );
  }
  return { entries: rows, count };
}

const JSON_KEYS = [...TEXT_FIELDS, 'report', 'reports'];

/** Turn one JSON object into a row, or record its problems and return undefined. */
function readJsonRow(object: Record<string, unknown>, line: number, problems: ProblemList): RawRow | undefined {
  const fields: RawRow['fields'] = {};
  let valid = true;
  for (const key of TEXT_FIELDS) {
    const value = object[key];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
      fields[key] = String(value).trim();
    } else {
      problems.error(line, 'invalid-row', `field "${key}" is ${describeJson(value)}, but it must be a string.`);
      valid = false;
    }
  }

  const hasReport = object.report !== undefined && object.report !== null;
  const hasReports = object.reports !== undefined && object.reports !== null;
  if (hasReport && hasReports) {
    problems.error(line, 'invalid-row', 'the row has both "report" and "reports"; give one report as "report" or a list of reports as "reports".');
    return undefined;
  }
  let reports: RawReport[] | undefined;
  if (hasReport) {
    const report = readJsonReport(object.report, 'report', line, problems);
    if (report === undefined) valid = false;
    else reports = [report];
  } else if (hasReports) {
    if (!Array.isArray(object.reports)) {
      problems.error(line, 'invalid-row', `field "reports" is ${describeJson(object.reports)}, but it must be a list of reports.`);
      return undefined;
    }
    reports = [];
    if (object.reports.length === 0) return { line, fields, reports, emptyReason: '"reports" is an empty list' };
    object.reports.forEach((item, index) => {
      const report = readJsonReport(item, `report ${index + 1} of "reports"`, line, problems);
      if (report === undefined) valid = false;
      else reports!.push(report);
    });
  }
  return valid ? { line, fields, reports } : undefined;
}

/** Read one report: a paragraph string, or a list of sentences given as strings or {text, type} objects. */
function readJsonReport(value: unknown, name: string, line: number, problems: ProblemList): RawReport | undefined {
  if (typeof value === 'string') return { name, paragraph: value };
  if (!Array.isArray(value)) {
    problems.error(
      line,
      'invalid-row',
      `${name} is ${describeJson(value)}, but a report must be a paragraph (a string) or a list of sentences.`,
    );
    return undefined;
  }
  const sentences: { text: string; type?: string }[] = [];
  for (const [index, item] of value.entries()) {
    if (typeof item === 'string') {
      sentences.push({ text: item });
      continue;
    }
    const sentence = item as Record<string, unknown> | null;
    const isObject = typeof item === 'object' && sentence !== null && !Array.isArray(item);
    const typeValid = isObject && (sentence.type === undefined || sentence.type === null || typeof sentence.type === 'string');
    if (!isObject || typeof sentence.text !== 'string' || !typeValid) {
      problems.error(
        line,
        'invalid-row',
        `sentence ${index + 1} of ${name} is ${describeJson(item)}, but a sentence must be a string or an object ` +
          `{"text": "...", "type": "..."} whose type may be left out.`,
      );
      return undefined;
    }
    const type = typeof sentence.type === 'string' ? sentence.type.trim() : '';
    sentences.push(type === '' ? { text: sentence.text } : { text: sentence.text, type });
  }
  return { name, sentences };
}

/** A column of a CSV manifest: a text field, or report number `report` (1-based). */
type CsvColumn = { field: TextField } | { report: number; name: string } | { ignored: string };

function parseCsvRows(text: string, format: 'csv' | 'tsv', problems: ProblemList): ParsedRows {
  const delimiter = format === 'tsv' ? '\t' : detectCsvDelimiter(text);
  const { records, errors } = parseCsv(text, delimiter);
  for (const error of errors) problems.error(error.line, 'invalid-row', `${error.message}.`);
  const [header, ...body] = records;
  if (header === undefined) {
    problems.error(1, 'invalid-row', 'the manifest is empty; its first line must name the columns, such as image,label,patient,report.');
    return { entries: [], count: 0 };
  }

  const columns = readCsvHeader(header.fields, header.line, problems);
  if (columns === undefined) return { entries: [], count: body.length };

  const rows: RawRow[] = [];
  for (const record of body) {
    if (record.fields.length !== columns.length) {
      problems.error(
        record.line,
        'invalid-row',
        `the row has ${record.fields.length} fields but the header has ${columns.length} columns. A field that ` +
          `contains the delimiter ${JSON.stringify(delimiter)} or a line break must be in double quotes.`,
      );
      continue;
    }
    const fields: RawRow['fields'] = {};
    const numberedReports: { number: number; report: RawReport }[] = [];
    columns.forEach((column, index) => {
      const value = record.fields[index];
      if ('field' in column) {
        if (value.trim() !== '') fields[column.field] = value.trim();
      } else if ('report' in column) {
        // An image may have fewer reports than there are report columns, so empty cells are skipped.
        if (value.trim() === '') return;
        numberedReports.push({ number: column.report, report: { name: column.name, paragraph: value } });
      }
    });
    // Report 1 comes first whatever the column order, because evaluation uses an image's first report.
    const reports = numberedReports.sort((a, b) => a.number - b.number).map(({ report }) => report);
    rows.push({ line: record.line, fields, reports, emptyReason: 'every report cell is empty' });
  }
  return { entries: rows, count: body.length };
}

/**
 * Return the delimiter of a .csv file: a semicolon when the first line has semicolons but no comma, as
 * spreadsheet programs write CSV in locales with a decimal comma, else a comma.
 */
export function detectCsvDelimiter(text: string): ',' | ';' {
  const firstLine = text.split(/\r\n|\r|\n/, 1)[0] ?? '';
  return firstLine.includes(';') && !firstLine.includes(',') ? ';' : ',';
}

const REPORT_COLUMN = /^reports?[ _-]?(\d+)$/;

/** Map the header's names to columns; record problems and return undefined when rows cannot be read. */
function readCsvHeader(names: string[], line: number, problems: ProblemList): CsvColumn[] | undefined {
  const columns: CsvColumn[] = names.map((rawName) => {
    const name = rawName.trim().toLowerCase();
    if ((TEXT_FIELDS as readonly string[]).includes(name)) return { field: name as TextField };
    if (name === 'report') return { report: 1, name: 'report' };
    const numbered = REPORT_COLUMN.exec(name);
    if (numbered) return { report: Number(numbered[1]), name: rawName.trim() };
    return { ignored: rawName.trim() };
  });

  let usable = true;
  const seen = new Set<string>();
  for (const column of columns) {
    if ('ignored' in column) continue;
    const key = 'field' in column ? column.field : `report ${column.report}`;
    if (seen.has(key)) {
      problems.error(line, 'invalid-row', `the header names column "${key}" twice; keep one.`);
      usable = false;
    }
    seen.add(key);
  }
  const known = [...TEXT_FIELDS, 'report', 'report_1'];
  for (const field of REQUIRED_FIELDS) {
    if (seen.has(field)) continue;
    const ignored = columns.flatMap((column) => ('ignored' in column ? [column.ignored] : []));
    const near = ignored.find((name) => closestName(name, [field]) !== undefined);
    problems.error(
      line,
      'missing-field',
      `the header has no "${field}" column${near ? ` (did you mean "${near}"?)` : ''}. The header must name the ` +
        `columns image, label and patient, and report or report_1, report_2, ...; found: ${names.join(', ')}.`,
    );
    usable = false;
  }
  const reportColumns = columns.filter((column) => 'report' in column);
  if (reportColumns.length === 0) {
    problems.error(
      line,
      'missing-field',
      'the header has no report column. Name it "report", or "report_1", "report_2", ... for several reports ' +
        `per image; found: ${names.join(', ')}.`,
    );
    usable = false;
  }
  for (const column of columns) {
    if ('ignored' in column) {
      const hint = didYouMean(column.ignored, known);
      problems.warning(line, 'unknown-field', `column "${column.ignored}" is not a manifest column and is ignored${hint}.`);
    }
  }
  return usable ? columns : undefined;
}

/** Check one row's fields and build its reports; returns undefined when a required field is missing. */
function toEntry(
  row: RawRow,
  file: string,
  data: DataConfig,
  problems: ProblemList,
  invalidSplitLines: Set<number>,
): DatasetEntry | undefined {
  let complete = true;
  for (const field of REQUIRED_FIELDS) {
    if (row.fields[field] !== undefined && row.fields[field] !== '') continue;
    problems.error(row.line, 'missing-field', `the row has no ${field}; every row needs image, label and patient.`);
    complete = false;
  }
  if (!complete) return undefined;

  // Windows exports write folders with backslashes; on this file system they would be part of the name.
  const image = row.fields.image!.replace(/\\/g, '/');
  const entry: DatasetEntry = {
    line: row.line,
    id: row.fields.id || image,
    image,
    imagePath: path.resolve(path.dirname(file), image),
    labelName: row.fields.label!,
    patientId: row.fields.patient!,
    reports: [],
  };

  const split = row.fields.split?.toLowerCase();
  if (split !== undefined && split !== '') {
    if ((SPLIT_NAMES as readonly string[]).includes(split)) {
      entry.split = split as SplitName;
    } else {
      invalidSplitLines.add(row.line);
      const hint = didYouMean(split, SPLIT_NAMES);
      problems.error(row.line, 'invalid-split', `split "${row.fields.split}" is not one of ${SPLIT_NAMES.join(', ')}${hint}.`);
    }
  }

  if (row.reports === undefined) {
    problems.error(row.line, 'missing-field', 'the row has no report; give "report" (one report) or "reports" (a list of reports).');
    return entry;
  }
  if (row.reports.length === 0) {
    problems.error(
      row.line,
      'empty-report',
      `the row has no report: ${row.emptyReason ?? 'no report is given'}. Write at least one report for this image, or leave the image out.`,
    );
    return entry;
  }
  for (const report of row.reports) {
    const sentences = buildSentences(report, row.line, data, problems);
    if (sentences.length === 0) {
      problems.error(row.line, 'empty-report', `${report.name} is empty: it has no sentence with a letter or digit. Write the report or remove it.`);
      continue;
    }
    entry.reports.push(sentences);
  }
  return entry;
}

/** Split and type the sentences of one report, recording type problems. */
function buildSentences(report: RawReport, line: number, data: DataConfig, problems: ProblemList): ReportSentence[] {
  // Positions count every listed sentence, empty ones too, so that a fixed type order stays aligned.
  const slots =
    'paragraph' in report
      ? splitSentences(report.paragraph).map((text) => ({ text, type: undefined as string | undefined }))
      : report.sentences.map((sentence) => ({ text: normaliseSentence(sentence.text), type: sentence.type?.trim() }));
  const fixedTypes = data.sentenceTypes;

  if (fixedTypes !== null && slots.length > fixedTypes.length) {
    const listed = slots.map((sentence, index) => `${index + 1} "${abbreviate(sentence.text)}"`).join(', ');
    problems.error(
      line,
      'sentence-types',
      `${report.name} has ${slots.length} sentences but data.sentenceTypes names ${fixedTypes.length} ` +
        `(${fixedTypes.join(', ')}), one per sentence position. The sentences are: ${listed}. Merge or remove ` +
        `sentences, or give the report as a list of sentences so that no sentence is split.`,
    );
  }

  const sentences: ReportSentence[] = [];
  slots.forEach((sentence, index) => {
    if (!/[\p{L}\p{N}]/u.test(sentence.text)) return;
    let type = sentence.type ?? fixedTypes?.[index] ?? '';
    if (sentence.type !== undefined && fixedTypes !== null && !fixedTypes.includes(sentence.type)) {
      problems.error(
        line,
        'sentence-types',
        `sentence ${index + 1} of ${report.name} has type "${sentence.type}", which data.sentenceTypes does not ` +
          `list${didYouMean(sentence.type, fixedTypes)}. Known types: ${fixedTypes.join(', ')}.`,
      );
      type = sentence.type;
    }
    sentences.push({ text: sentence.text, type });
  });
  return sentences;
}

/**
 * Check that either every entry gives a split or none does; when only some do, each entry without one is
 * an error. Entries whose split value is invalid (`invalidSplitLines`) were reported already and count as
 * giving one. Returns whether the manifest's split is to be used.
 */
function checkSplitColumn(entries: readonly DatasetEntry[], invalidSplitLines: ReadonlySet<number>, problems: ProblemList): boolean {
  const givesSplit = (entry: DatasetEntry) => entry.split !== undefined || invalidSplitLines.has(entry.line);
  const withSplit = entries.filter(givesSplit);
  if (withSplit.length === 0) return false;
  if (withSplit.length === entries.length) return true;
  const first = withSplit[0].line;
  for (const entry of entries) {
    if (givesSplit(entry)) continue;
    problems.error(
      entry.line,
      'invalid-split',
      `the row has no valid split, but other rows give one (the first at line ${first}). Give every row ` +
        `a split (train, validation or test), or none to let tandem split by patient.`,
    );
  }
  return false;
}

function abbreviate(text: string, length = 40): string {
  return text.length <= length ? text : `${text.slice(0, length - 3)}...`;
}

function describeJson(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value);
}
