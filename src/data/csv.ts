/**
 * A CSV parser after RFC 4180 that keeps the physical line on which each record starts, so that a
 * manifest problem can name its line even when a quoted field spans several lines.
 */

/** One record (row) of a CSV file. */
export interface CsvRecord {
  /** 1-based physical line on which the record starts. */
  line: number;
  fields: string[];
}

/** A syntax error, located at the line where the broken field starts. */
export interface CsvSyntaxError {
  line: number;
  message: string;
}

export interface CsvParseResult {
  records: CsvRecord[];
  errors: CsvSyntaxError[];
}

/**
 * Parse CSV text into records. Follows RFC 4180 and accepts what common exports add to it:
 *
 * - Line breaks may be CRLF, LF or a lone CR; each counts as one physical line, inside quotes too.
 * - A field in double quotes may contain the delimiter, line breaks and doubled quotes (`""` is one `"`).
 * - A quote inside an unquoted field is kept as a character, as spreadsheet programs write `5" lesion`.
 * - A leading UTF-8 byte order mark is dropped, and lines that are completely empty are skipped.
 *
 * Text after the closing quote of a field, up to the next delimiter, is an error, and so is a quoted
 * field that is still open at the end of the text. Both are reported with the line where the field
 * starts, and parsing goes on, so that one call lists every error.
 */
export function parseCsv(text: string, delimiter = ','): CsvParseResult {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new RangeError(`CSV delimiter must be one character other than a quote or a line break, got ${JSON.stringify(delimiter)}.`);
  }
  const records: CsvRecord[] = [];
  const errors: CsvSyntaxError[] = [];
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;

  let line = 1;
  let recordLine = 1;
  let fields: string[] = [];
  let field = '';
  let index = 0;
  // True once the current record has any character, so that an empty line is not a record of one field.
  let recordStarted = false;

  const endField = () => {
    fields.push(field);
    field = '';
  };
  const endRecord = () => {
    if (recordStarted) {
      endField();
      records.push({ line: recordLine, fields });
    }
    fields = [];
    field = '';
    recordStarted = false;
  };
  /** Length of the line break at `position`: 2 for CRLF, 1 for LF or CR, 0 for none. */
  const lineBreakAt = (position: number): number => {
    const character = source[position];
    if (character === '\r') return source[position + 1] === '\n' ? 2 : 1;
    return character === '\n' ? 1 : 0;
  };

  while (index < source.length) {
    const breakLength = lineBreakAt(index);
    if (breakLength > 0) {
      endRecord();
      index += breakLength;
      line++;
      recordLine = line;
      continue;
    }
    const character = source[index];
    if (character === delimiter) {
      recordStarted = true;
      endField();
      index++;
      continue;
    }
    if (character === '"' && field === '') {
      recordStarted = true;
      const fieldLine = line;
      index++;
      let closed = false;
      while (index < source.length) {
        if (source[index] === '"') {
          if (source[index + 1] === '"') {
            field += '"';
            index += 2;
            continue;
          }
          index++;
          closed = true;
          break;
        }
        const innerBreak = lineBreakAt(index);
        if (innerBreak > 0) {
          field += source.slice(index, index + innerBreak);
          index += innerBreak;
          line++;
          continue;
        }
        field += source[index];
        index++;
      }
      if (!closed) {
        errors.push({
          line: fieldLine,
          message: 'a quoted field starts here but its closing double quote is missing',
        });
        break;
      }
      // After the closing quote only the delimiter or a line break may follow.
      let trailing = '';
      while (index < source.length && source[index] !== delimiter && lineBreakAt(index) === 0) {
        trailing += source[index];
        index++;
      }
      if (trailing !== '') {
        errors.push({
          line: fieldLine,
          message:
            `text ${JSON.stringify(trailing)} follows the closing double quote of a field; put the whole field ` +
            'in quotes and write each double quote inside it as two ("")',
        });
        field += trailing;
      }
      continue;
    }
    recordStarted = true;
    field += character;
    index++;
  }
  endRecord();
  return { records, errors };
}
