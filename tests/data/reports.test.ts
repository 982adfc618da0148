import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildReport, buildSentence, type QuestionRecord } from '../../src/data/reports.ts';

describe('buildSentence', () => {
  const cases: [question: string, answer: string, expected: string][] = [
    ['Are regions of the brain infarcted?', 'Yes', 'Are regions of the brain infarcted? Yes.'],
    ['How many kidneys are seen?', '2', 'How many kidneys are seen? 2.'],
    ['Where is the lesion?', 'On the right shoulder.', 'Where is the lesion? On the right shoulder.'],
    ['What is shown?', 'memory deficit, etc..  ', 'What is shown? memory deficit, etc.'],
    ['  Are the liver \tsplee n\tstomac h shown?', 'Heart \tlungs', 'Are the liver splee n stomac h shown? Heart lungs.'],
    ['Line one\nline two?', ' yes . ', 'Line one line two? yes.'],
  ];
  for (const [question, answer, expected] of cases) {
    test(`builds ${JSON.stringify(expected)}`, () => {
      assert.equal(buildSentence(question, answer), expected);
    });
  }
});

describe('buildReport', () => {
  const records: QuestionRecord[] = [
    { qid: 12, question: 'Is this an MRI?', answer: 'no', questionType: 'Modality' },
    { qid: 3, question: 'Which organ is this?', answer: 'brain', questionType: 'ORGAN' },
    { qid: 7, question: 'Is there a mass?', answer: 'yes', questionType: 'PRSE, POS' },
  ];

  test('orders by qid and normalises types', () => {
    const report = buildReport(records, true);
    assert.deepEqual(report, [
      { text: 'Which organ is this? brain.', type: 'ORGAN' },
      { text: 'Is there a mass? yes.', type: 'PRES' },
      { text: 'Is this an MRI? no.', type: 'MODALITY' },
    ]);
  });

  test('drops ORGAN questions by default', () => {
    const report = buildReport(records, false);
    assert.deepEqual(
      report.map((sentence) => sentence.type),
      ['PRES', 'MODALITY'],
    );
  });

  test('ORGAN-only report is empty', () => {
    assert.deepEqual(buildReport([records[1]], false), []);
  });

  test('leaves input order unchanged', () => {
    buildReport(records, true);
    assert.deepEqual(
      records.map((record) => record.qid),
      [12, 3, 7],
    );
  });
});
