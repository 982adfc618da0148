import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { splitSentences } from '../../src/data/sentences.ts';

describe('splitSentences', () => {
  test('splits at sentence ends', () => {
    assert.deepEqual(splitSentences('Nuclei are pleomorphic. Cells are crowded! Is polarity lost? Yes.'), [
      'Nuclei are pleomorphic.',
      'Cells are crowded!',
      'Is polarity lost?',
      'Yes.',
    ]);
  });

  test('decimals and lower-case continuations stay whole', () => {
    assert.deepEqual(splitSentences('A mass e.g. in the liver is 5.2 cm wide. Next.'), [
      'A mass e.g. in the liver is 5.2 cm wide.',
      'Next.',
    ]);
  });

  test('line breaks split and whitespace collapses', () => {
    assert.deepEqual(splitSentences('first  finding\nsecond\t finding\r\n\r\nthird'), ['first finding', 'second finding', 'third']);
  });

  test('blank and punctuation-only parts are dropped', () => {
    assert.deepEqual(splitSentences('  '), []);
    assert.deepEqual(splitSentences('One.\n. -\nTwo.'), ['One.', 'Two.']);
  });

  test('abbreviation before a capital splits', () => {
    assert.deepEqual(splitSentences('Seen by Dr. Smith.'), ['Seen by Dr.', 'Smith.']);
  });
});
