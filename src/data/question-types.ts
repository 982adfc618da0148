/**
 * Normalisation of VQA-RAD `question_type` values. The release mixes case ("Other"), misspells some types
 * ("PRSE", "ATRIB") and gives some questions two types ("POS, PRES"). A report sentence gets one type, the
 * one this module returns, and per-type statistics group sentences by it.
 */

/** Misspelled question types found in the VQA-RAD release, mapped to the type they mean. Keys are upper case. */
export const QUESTION_TYPE_FIXES: Readonly<Record<string, string>> = Object.freeze({
  PRSE: 'PRES',
  ATRIB: 'ATTRIB',
});

/** The question type that names the organ, and so the VQA-RAD label, outright. */
export const ORGAN_QUESTION_TYPE = 'ORGAN';

/**
 * Normalise a raw `question_type`: trim and upper-case it, keep only the first type of a comma-separated
 * combined type ("POS, PRES" becomes "POS"), then replace a known misspelling using QUESTION_TYPE_FIXES.
 * Returns "" for a value with no type in it (an empty or blank string).
 */
export function normaliseQuestionType(raw: string): string {
  const firstType = raw.split(',')[0].trim().toUpperCase();
  return QUESTION_TYPE_FIXES[firstType] ?? firstType;
}
