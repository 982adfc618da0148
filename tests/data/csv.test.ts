import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCsv } from '../../src/data/csv.ts';
import { detectCsvDelimiter } from '../../src/data/manifest.ts';

describe('parseCsv', () => {
  test('plain rows with their lines', () => {
    const { records, errors } = parseCsv('a,b,c\n1,2,3\n');
    assert.deepEqual(errors, []);
    assert.deepEqual(records, [
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', '2', '3'] },
    ]);
  });

  test('quoted delimiter and doubled quote', () => {
    const { records } = parseCsv('"a, b","say ""hi""",c\n');
    assert.deepEqual(records[0].fields, ['a, b', 'say "hi"', 'c']);
  });

  test('quoted line breaks advance the line count', () => {
    const text = 'image,report\nx.png,"First.\nSecond.\r\nThird."\ny.png,one\n';
    const { records, errors } = parseCsv(text);
    assert.deepEqual(errors, []);
    assert.equal(records[1].line, 2);
    assert.equal(records[1].fields[1], 'First.\nSecond.\r\nThird.');
    assert.equal(records[2].line, 5);
    assert.deepEqual(records[2].fields, ['y.png', 'one']);
  });

  test('CRLF, lone CR and blank lines', () => {
    const { records } = parseCsv('a,b\r\n\r\n1,2\r3,4');
    assert.deepEqual(
      records.map((record) => [record.line, ...record.fields]),
      [
        [1, 'a', 'b'],
        [3, '1', '2'],
        [4, '3', '4'],
      ],
    );
  });

  test('byte order mark is dropped', () => {
    assert.deepEqual(parseCsv('\uFEFFimage,label\n').records[0].fields, ['image', 'label']);
  });

  test('empty fields are kept', () => {
    assert.deepEqual(parseCsv(',,\n').records[0].fields, ['', '', '']);
    assert.deepEqual(parseCsv('a,""\n').records[0].fields, ['a', '']);
  });

  test('quote inside unquoted field is a character', () => {
    const { records, errors } = parseCsv('a 5" lesion,b\n');
    assert.deepEqual(errors, []);
    assert.deepEqual(records[0].fields, ['a 5" lesion', 'b']);
  });

  test('unclosed quote reports its starting line', () => {
    const { errors } = parseCsv('a,b\n1,2\n3,"open\nstill open\n');
    assert.equal(errors.length, 1);
    assert.equal(errors[0].line, 3);
    assert.match(errors[0].message, /closing double quote is missing/);
  });

  test('text after closing quote is an error', () => {
    const { records, errors } = parseCsv('a,b\n"x"y,2\n');
    assert.equal(errors.length, 1);
    assert.equal(errors[0].line, 2);
    assert.match(errors[0].message, /follows the closing double quote/);
    assert.deepEqual(records[1].fields, ['xy', '2']);
  });

  test('tab delimiter', () => {
    assert.deepEqual(parseCsv('a\tb,c\n', '\t').records[0].fields, ['a', 'b,c']);
  });

  test('invalid delimiter throws', () => {
    assert.throws(() => parseCsv('a', '"'), /delimiter/);
  });
});

describe('detectCsvDelimiter', () => {
  test('semicolon header without commas', () => {
    assert.equal(detectCsvDelimiter('image;label;patient\n1;2;3'), ';');
  });

  test('comma otherwise', () => {
    assert.equal(detectCsvDelimiter('image,label;x\n'), ',');
    assert.equal(detectCsvDelimiter('image\n'), ',');
  });
});
