import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { normaliseQuestionType, QUESTION_TYPE_FIXES } from '../../src/data/question-types.ts';
import { REAL_DATA_ROOT, SKIP_WITHOUT_REAL_DATA } from '../fixtures/vqa-rad-fixture.ts';

describe('normaliseQuestionType', () => {
  const cases: [raw: string, expected: string][] = [
    ['PRES', 'PRES'],
    ['Other', 'OTHER'],
    ['  modality ', 'MODALITY'],
    ['PRSE', 'PRES'],
    ['ATRIB', 'ATTRIB'],
    ['POS, PRES', 'POS'],
    ['PRES, ATTRIB', 'PRES'],
    ['ATRIB, SIZE', 'ATTRIB'],
    ['prse ,pos', 'PRES'],
    ['', ''],
  ];
  for (const [raw, expected] of cases) {
    test(`maps ${JSON.stringify(raw)} to ${JSON.stringify(expected)}`, () => {
      assert.equal(normaliseQuestionType(raw), expected);
    });
  }

  test('fix table lists the release misspellings', () => {
    assert.deepEqual({ ...QUESTION_TYPE_FIXES }, { PRSE: 'PRES', ATRIB: 'ATTRIB' });
    assert.ok(Object.isFrozen(QUESTION_TYPE_FIXES));
  });

  test('real release gives only known types', { skip: SKIP_WITHOUT_REAL_DATA }, () => {
    const records = JSON.parse(readFileSync(path.join(REAL_DATA_ROOT, 'VQA_RAD Dataset Public.json'), 'utf8'));
    const types = new Set<string>(records.map((record: { question_type: string }) => normaliseQuestionType(record.question_type)));
    const known = ['ABN', 'ATTRIB', 'COLOR', 'COUNT', 'MODALITY', 'ORGAN', 'OTHER', 'PLANE', 'POS', 'PRES', 'SIZE'];
    assert.deepEqual([...types].sort(), known);
  });
});
