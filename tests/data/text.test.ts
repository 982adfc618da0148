import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildVocabulary,
  END_OF_SENTENCE_ID,
  PADDING_ID,
  SPECIAL_TOKENS,
  tokenize,
  UNKNOWN_ID,
  Vocabulary,
} from '../../src/data/text.ts';

describe('tokenize', () => {
  test('splits on non-alphanumerics, lower-cased', () => {
    assert.deepEqual(tokenize('Is the 3.5-cm mass\tIN the L4 vertebra? Yes.'), [
      'is', 'the', '3', '5', 'cm', 'mass', 'in', 'the', 'l4', 'vertebra', 'yes',
    ]);
  });

  test('keeps accented letters', () => {
    assert.deepEqual(tokenize('Ménétrier disease?'), ['ménétrier', 'disease']);
  });

  test('punctuation alone gives no tokens', () => {
    assert.deepEqual(tokenize(' ?. '), []);
  });
});

describe('buildVocabulary', () => {
  const sentences = ['Is there a mass? Yes.', 'Is there fluid? no.', 'Where is the mass? liver.'];

  test('special ids come first', () => {
    const vocabulary = buildVocabulary(sentences, 1);
    assert.equal(PADDING_ID, 0);
    assert.equal(END_OF_SENTENCE_ID, 1);
    assert.equal(UNKNOWN_ID, 2);
    assert.deepEqual(vocabulary.words.slice(0, 3), [...SPECIAL_TOKENS]);
  });

  test('orders by count then alphabet', () => {
    const vocabulary = buildVocabulary(sentences, 1);
    // is: 3; mass, there: 2; the rest once, alphabetically.
    assert.deepEqual(vocabulary.words.slice(3), ['is', 'mass', 'there', 'a', 'fluid', 'liver', 'no', 'the', 'where', 'yes']);
    assert.equal(vocabulary.size, 13);
  });

  test('minWordCount sends rare words to unknown', () => {
    const vocabulary = buildVocabulary(sentences, 2);
    assert.deepEqual(vocabulary.words.slice(3), ['is', 'mass', 'there']);
    assert.deepEqual(vocabulary.encode('Is there fluid?'), [3, 5, UNKNOWN_ID, END_OF_SENTENCE_ID]);
  });

  test('counts only tokens that encode keeps', () => {
    const vocabulary = buildVocabulary(['alpha beta gamma delta'], 1, 3);
    assert.deepEqual(vocabulary.words.slice(3), ['alpha', 'beta']);
  });
});

describe('Vocabulary.encode', () => {
  const vocabulary = new Vocabulary([...SPECIAL_TOKENS, 'is', 'there', 'a', 'mass']);

  test('appends end-of-sentence id', () => {
    assert.deepEqual(vocabulary.encode('Is there a mass?'), [3, 4, 5, 6, END_OF_SENTENCE_ID]);
  });

  test('maps unseen words to unknown', () => {
    assert.deepEqual(vocabulary.encode('Is there fluid'), [3, 4, UNKNOWN_ID, END_OF_SENTENCE_ID]);
  });

  test('cuts to maxTokens including end', () => {
    assert.deepEqual(vocabulary.encode('Is there a mass?', 3), [3, 4, END_OF_SENTENCE_ID]);
    assert.deepEqual(vocabulary.encode('Is there a mass?', 1), [END_OF_SENTENCE_ID]);
  });

  test('empty sentence is the end token alone', () => {
    assert.deepEqual(vocabulary.encode('?'), [END_OF_SENTENCE_ID]);
  });

  test('special token names are not words', () => {
    assert.equal(vocabulary.idOf('<eos>'), UNKNOWN_ID);
    assert.equal(vocabulary.idOf('<pad>'), UNKNOWN_ID);
  });

  test('decode inverts encode', () => {
    assert.equal(vocabulary.decode(vocabulary.encode('is there a tumour')), 'is there a <unk> <eos>');
  });

  test('rejects word lists without special tokens', () => {
    assert.throws(() => new Vocabulary(['is', 'there', 'a']), /Vocabulary word 0 must be "<pad>"/);
  });
});
