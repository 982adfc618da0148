/** Tokeniser and word vocabulary for report sentences. */
import { compareStrings } from './vqa-rad.ts';

/** Word id of padding after a report's last token. */
export const PADDING_ID = 0;
/** Word id of the end-of-sentence token that closes every sentence. */
export const END_OF_SENTENCE_ID = 1;
/** Word id of every word outside the vocabulary. */
export const UNKNOWN_ID = 2;
/** The tokens behind ids 0, 1 and 2, as `Vocabulary.words` lists them. */
export const SPECIAL_TOKENS = ['<pad>', '<eos>', '<unk>'] as const;

/**
 * Split a sentence into lower-case tokens: maximal runs of Unicode letters and digits, so "3.5 cm" gives
 * ["3", "5", "cm"] and every other character separates tokens.
 */
export function tokenize(sentence: string): string[] {
  return sentence.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The mapping between words and word ids. Ids 0 to 2 are SPECIAL_TOKENS; words start at id 3. */
export class Vocabulary {
  /** Token of each id: `words[id]`. */
  readonly words: readonly string[];
  private readonly ids: Map<string, number>;

  /** Create a vocabulary from its word list in id order, the special tokens first (as `words` returns it). */
  constructor(words: readonly string[]) {
    SPECIAL_TOKENS.forEach((token, id) => {
      if (words[id] !== token) throw new Error(`Vocabulary word ${id} must be "${token}", found "${words[id]}".`);
    });
    this.words = [...words];
    this.ids = new Map(this.words.map((word, id) => [word, id]));
    if (this.ids.size !== this.words.length) throw new Error('Vocabulary words must be distinct.');
  }

  /** Number of ids, special tokens included: the embedding table's row count. */
  get size(): number {
    return this.words.length;
  }

  /** Id of one token, or UNKNOWN_ID for a token outside the vocabulary. */
  idOf(token: string): number {
    const id = this.ids.get(token);
    return id === undefined || id < SPECIAL_TOKENS.length ? UNKNOWN_ID : id;
  }

  /**
   * Encode one sentence as word ids: its first `maxTokens - 1` tokens, then END_OF_SENTENCE_ID. The
   * result has 1 to `maxTokens` ids and always ends with the end-of-sentence id.
   */
  encode(sentence: string, maxTokens = Number.POSITIVE_INFINITY): number[] {
    if (maxTokens < 1) throw new RangeError(`maxTokens must be at least 1, got ${maxTokens}.`);
    const tokens = tokenize(sentence).slice(0, maxTokens - 1);
    return [...tokens.map((token) => this.idOf(token)), END_OF_SENTENCE_ID];
  }

  /** Turn word ids back into space-separated tokens, for logs and generated reports. */
  decode(ids: Iterable<number>): string {
    return Array.from(ids, (id) => this.words[id] ?? SPECIAL_TOKENS[UNKNOWN_ID]).join(' ');
  }
}

/**
 * Build a vocabulary from sentences (the training reports only, so validation and test words count as
 * unknown). Only the first `maxSentenceTokens - 1` tokens of each sentence are counted, the ones that
 * `encode` keeps. Words seen at least `minWordCount` times get ids from 3 upward, by descending count and
 * then alphabetically.
 */
export function buildVocabulary(
  sentences: Iterable<string>,
  minWordCount: number,
  maxSentenceTokens = Number.POSITIVE_INFINITY,
): Vocabulary {
  const counts = new Map<string, number>();
  for (const sentence of sentences) {
    for (const token of tokenize(sentence).slice(0, maxSentenceTokens - 1)) {
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
  }
  const frequentWords = [...counts]
    .filter(([, count]) => count >= minWordCount)
    .sort((a, b) => b[1] - a[1] || compareStrings(a[0], b[0]))
    .map(([word]) => word);
  return new Vocabulary([...SPECIAL_TOKENS, ...frequentWords]);
}
