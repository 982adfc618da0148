/**
 * Turns VQA-RAD question-answer records into report sentences: one sentence per record, typed by the
 * record's normalised question type.
 */
import { normaliseQuestionType, ORGAN_QUESTION_TYPE } from './question-types.ts';

/** One sentence of a report and the finding type it describes. */
export interface ReportSentence {
  text: string;
  type: string;
}

/** The fields of a VQA-RAD record that a report sentence is built from. */
export interface QuestionRecord {
  qid: number;
  question: string;
  answer: string;
  questionType: string;
}

/**
 * Build the sentence "question answer." from one record. Runs of whitespace (tabs included) become one
 * space, the ends are trimmed, and trailing periods are replaced by exactly one period.
 */
export function buildSentence(question: string, answer: string): string {
  const joined = `${question} ${answer}`.replace(/\s+/g, ' ').trim();
  const withoutPeriods = joined.replace(/[\s.]+$/, '');
  return `${withoutPeriods}.`;
}

/**
 * Build a report from one image's records, in ascending `qid` order. ORGAN questions are dropped unless
 * `includeOrganQuestions` is set, so a report may have zero sentences.
 */
export function buildReport(records: readonly QuestionRecord[], includeOrganQuestions: boolean): ReportSentence[] {
  const ordered = [...records].sort((a, b) => a.qid - b.qid);
  const sentences: ReportSentence[] = [];
  for (const record of ordered) {
    const type = normaliseQuestionType(record.questionType);
    if (type === ORGAN_QUESTION_TYPE && !includeOrganQuestions) continue;
    sentences.push({ text: buildSentence(record.question, record.answer), type });
  }
  return sentences;
}
