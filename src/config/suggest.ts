/** "Did you mean" suggestions for misspelt keys and enum values. */

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions from a to b. */
export function levenshteinDistance(a: string, b: string): number {
  let previousRow = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const currentRow = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitutionCost = a[i - 1] === b[j - 1] ? 0 : 1;
      currentRow[j] = Math.min(previousRow[j] + 1, currentRow[j - 1] + 1, previousRow[j - 1] + substitutionCost);
    }
    previousRow = currentRow;
  }
  return previousRow[b.length];
}

/**
 * Returns the candidate closest to `word`, ignoring case, or undefined when none is close enough to be a
 * plausible misspelling: at most a third of the longer word's letters differ, and at least one may.
 * Ties go to the earlier candidate, so schema order decides.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const lowerWord = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = levenshteinDistance(lowerWord, candidate.toLowerCase());
    const limit = Math.max(1, Math.floor(Math.max(word.length, candidate.length) / 3));
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
