/** Splitting a report paragraph into sentences. */

const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/**
 * Split a report paragraph into sentences: first at line breaks, then at sentence boundaries as the
 * Unicode text segmentation rules (UAX #29) define them, which `Intl.Segmenter` implements. A boundary
 * follows `!` or `?` and the spaces after it, and follows `.` unless a lower-case letter comes next, so
 * "5.2 cm" and "e.g. the" stay whole but "Dr. Smith" is split in two. Runs of whitespace become one
 * space, and parts with no letter or digit (a stray "." or "-") are dropped. Returns [] for a blank
 * paragraph.
 */
export function splitSentences(paragraph: string): string[] {
  const sentences: string[] = [];
  for (const lineText of paragraph.split(/\r\n|\r|\n/)) {
    for (const { segment } of segmenter.segment(lineText)) {
      const sentence = normaliseSentence(segment);
      if (/[\p{L}\p{N}]/u.test(sentence)) sentences.push(sentence);
    }
  }
  return sentences;
}

/** Collapse runs of whitespace (tabs and line breaks included) into one space and trim the ends. */
export function normaliseSentence(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
