/**
 * A corpus of malformed configs in tests/config/corpus/, each with every problem it must produce: the
 * file (when not the case's own), line, column, code and config path. A case passes only when the
 * loader reports exactly these problems, no more and no fewer.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkConfig } from '../../src/config/load.ts';
import { CROSS_FIELD_CHECKS } from '../../src/config/checks.ts';
import { COMMAND_LINE, PROBLEM_CODES, type ConfigProblem } from '../../src/config/problems.ts';

const corpusDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus');

interface CorpusCase {
  /** A config file in the corpus folder. */
  file: string;
  /** `--set` option values applied to the file. */
  set?: string[];
  /**
   * Every problem, as `[file:]line:column code [config.path]`. The file is left out for the case's own
   * file; other files are relative to the corpus folder, or `<command line>`.
   */
  expected: string[];
}

const CASES: CorpusCase[] = [
  // YAML syntax
  { file: 'syntax-compact-mapping.yaml', expected: ['2:7 yaml-syntax'] },
  { file: 'syntax-unclosed-flow.yaml', expected: ['2:8 yaml-syntax'] },
  { file: 'syntax-unclosed-quote.yaml', expected: ['1:7 yaml-syntax'] },
  { file: 'syntax-bad-indent.yaml', expected: ['4:2 yaml-syntax'] },
  { file: 'syntax-list-in-mapping.yaml', expected: ['2:1 yaml-syntax'] },
  { file: 'syntax-two-documents.yaml', expected: ['2:1 yaml-syntax'] },
  { file: 'syntax-undefined-alias.yaml', expected: ['2:7 yaml-syntax'] },
  { file: 'tab-indent.yaml', expected: ['3:1 yaml-tab'] },
  { file: 'tab-nested-indent.yaml', expected: ['4:3 yaml-tab'] },
  { file: 'duplicate-top-key.yaml', expected: ['5:1 duplicate-key seed'] },
  { file: 'duplicate-nested-key.yaml', expected: ['5:3 duplicate-key train.epochs'] },
  { file: 'duplicate-flow-key.yaml', expected: ['2:28 duplicate-key model.textDropRate'] },

  // Types
  { file: 'type-string-for-integer.yaml', expected: ['2:7 type seed'] },
  { file: 'type-quoted-number.yaml', expected: ['3:14 type train.batchSize'] },
  { file: 'type-float-for-integer.yaml', expected: ['3:11 type train.epochs'] },
  { file: 'type-yes-for-boolean.yaml', expected: ['3:19 type model.skipConnection'] },
  { file: 'type-number-for-string.yaml', expected: ['1:7 type name'] },
  { file: 'type-list-for-number.yaml', expected: ['3:14 type data.imageSize'] },
  { file: 'type-mapping-for-number.yaml', expected: ['3:3 type seed'] },
  { file: 'type-empty-section.yaml', expected: ['3:3 type data.augment'] },
  { file: 'type-scalar-section.yaml', expected: ['3:13 type model.backbone'] },
  { file: 'type-list-document.yaml', expected: ['1:1 type'] },
  { file: 'type-union-mismatch.yaml', expected: ['3:14 type data.maxImages'] },
  { file: 'type-list-field-scalar.yaml', expected: ['3:11 type data.labels'] },
  { file: 'type-list-item.yaml', expected: ['3:17 type data.labels[1]'] },

  // Ranges, lengths and patterns
  { file: 'range-image-size-small.yaml', expected: ['3:14 range data.imageSize'] },
  { file: 'range-text-drop-rate.yaml', expected: ['3:17 range model.textDropRate'] },
  { file: 'range-negative-seed.yaml', expected: ['2:7 range seed'] },
  { file: 'range-zero-learning-rate.yaml', expected: ['4:19 range train.cnn.learningRate'] },
  { file: 'range-test-fraction-one.yaml', expected: ['4:19 range data.split.testFraction'] },
  { file: 'range-union-branch.yaml', expected: ['3:14 range data.maxImages'] },
  { file: 'range-epochs-huge.yaml', expected: ['3:11 range train.epochs'] },
  { file: 'range-flow-mapping.yaml', expected: ['3:38 range model.backbone.widenFactor'] },
  { file: 'length-empty-root.yaml', expected: ['3:9 length data.root'] },
  { file: 'length-long-name.yaml', expected: ['1:7 length name'] },
  { file: 'length-one-label.yaml', expected: ['3:11 length data.labels'] },
  { file: 'pattern-name-space.yaml', expected: ['1:7 pattern name'] },
  { file: 'duplicate-item-labels.yaml', expected: ['6:7 duplicate-item data.labels'] },

  // Enums
  { file: 'enum-resize-mode.yaml', expected: ['3:15 enum data.resizeMode'] },
  { file: 'enum-backend.yaml', expected: ['2:10 enum backend'] },
  { file: 'enum-backbone-type.yaml', expected: ['4:11 enum model.backbone.type'] },
  { file: 'enum-attention-variant.yaml', expected: ['4:14 enum model.attention.variant'] },
  { file: 'enum-select-by.yaml', expected: ['3:13 enum train.selectBy'] },

  // Unknown, misspelt and missing keys
  { file: 'unknown-top-key.yaml', expected: ['2:1 unknown-key seeed'] },
  { file: 'unknown-nested-key.yaml', expected: ['3:3 unknown-key data.imageSiz'] },
  { file: 'unknown-deep-key.yaml', expected: ['4:5 unknown-key model.backbone.dept'] },
  { file: 'unknown-wrong-section.yaml', expected: ['3:3 unknown-key model.epochs'] },
  { file: 'unknown-dotted-key.yaml', expected: ['2:1 unknown-key ["data.imageSize"]'] },
  { file: 'unknown-unrelated-key.yaml', expected: ['2:1 unknown-key optimizer'] },
  { file: 'unknown-proto-key.yaml', expected: ['2:1 unknown-key __proto__'] },
  { file: 'missing-name.yaml', expected: ['2:1 missing-key name'] },
  { file: 'missing-name-empty-file.yaml', expected: ['1:1 missing-key name'] },

  // extends
  { file: 'extends-missing.yaml', expected: ['1:10 extends-missing extends'] },
  { file: 'extends-misspelt.yaml', expected: ['2:10 extends-missing extends'] },
  { file: 'extends-cycle-a.yaml', expected: ['extends-cycle-b.yaml:2:10 extends-cycle extends'] },
  { file: 'extends-cycle-b.yaml', expected: ['extends-cycle-a.yaml:1:10 extends-cycle extends'] },
  { file: 'extends-self.yaml', expected: ['2:34 extends-cycle extends[1]'] },
  { file: 'extends-number.yaml', expected: ['1:10 extends-invalid extends'] },
  { file: 'extends-list-entry.yaml', expected: ['3:5 extends-invalid extends[1]'] },
  { file: 'extends-folder.yaml', expected: ['1:10 extends-unreadable extends'] },
  { file: 'extends-error-in-base.yaml', expected: ['bases/range-error.yaml:5:17 range model.textDropRate'] },
  { file: 'extends-syntax-in-base.yaml', expected: ['bases/syntax-error.yaml:2:14 yaml-syntax'] },
  {
    file: 'extends-unknown-key-in-base.yaml',
    expected: ['bases/unknown-key.yaml:3:5 unknown-key model.backbone.widen'],
  },
  { file: 'extends-missing-in-base.yaml', expected: ['bases/extends-missing.yaml:3:10 extends-missing extends'] },
  {
    file: 'extends-child-and-base-errors.yaml',
    expected: ['4:11 range train.epochs', 'bases/range-error.yaml:5:17 range model.textDropRate'],
  },

  // --set overrides of a valid file
  { file: 'valid.yaml', set: ['train'], expected: ['<command line>:1:7 override-syntax'] },
  { file: 'valid.yaml', set: ['train.epochs: 3'], expected: ['<command line>:1:7 override-syntax'] },
  { file: 'valid.yaml', set: ['model..textDropRate=0.3'], expected: ['<command line>:1:13 override-syntax'] },
  { file: 'valid.yaml', set: ['name=[demo'], expected: ['<command line>:1:12 override-syntax name'] },
  { file: 'valid.yaml', set: ['train.epochs=two'], expected: ['<command line>:1:20 type train.epochs'] },
  { file: 'valid.yaml', set: ['model.textDropRate=1.5'], expected: ['<command line>:1:26 range model.textDropRate'] },
  {
    file: 'valid.yaml',
    set: ['model.textDroprate=0.3'],
    expected: ['<command line>:1:13 unknown-key model.textDroprate'],
  },
  {
    file: 'valid.yaml',
    set: ['extends=bases/valid-base.yaml'],
    expected: ['<command line>:1:7 override-extends extends'],
  },
  { file: 'valid.yaml', set: ['backend=wsam'], expected: ['<command line>:1:15 enum backend'] },
  {
    file: 'valid.yaml',
    set: ['train.epochs=3', 'train.batchSize=0'],
    expected: ['<command line>:2:23 range train.batchSize'],
  },
  {
    file: 'valid.yaml',
    set: ['model.backbone={depth: 16, widen: 2}'],
    expected: ['<command line>:1:34 unknown-key model.backbone.widen'],
  },

  // Cross-field checks
  { file: 'cross-resize-below-image.yaml', expected: ['4:13 cross-field/resize-to-below-image-size data.resizeTo'] },
  { file: 'cross-backbone-depth.yaml', expected: ['4:12 cross-field/backbone-depth model.backbone.depth'] },
  { file: 'cross-image-below-stride.yaml', expected: ['3:14 cross-field/image-size-below-stride data.imageSize'] },
  { file: 'cross-text-drop-one.yaml', expected: ['3:17 cross-field/text-drop-rate-one model.textDropRate'] },
  {
    file: 'cross-weights-missing.yaml',
    expected: ['5:14 cross-field/backbone-weights-missing model.backbone.weights'],
  },
  {
    file: 'cross-field-of-other-type.yaml',
    expected: ['5:12 cross-field/backbone-field-of-other-type model.backbone.depth'],
  },
  { file: 'cross-wasm-memory.yaml', expected: ['7:14 cross-field/wasm-batch-memory train.batchSize'] },
  { file: 'cross-wasm-memory-auto.yaml', expected: ['6:14 cross-field/wasm-batch-memory train.batchSize'] },

  // Several problems at once
  {
    file: 'three-mistakes.yaml',
    expected: ['5:15 enum data.resizeMode', '7:3 unknown-key model.textDroprate', '10:14 type train.batchSize'],
  },
  {
    file: 'mixed-warning-and-errors.yaml',
    expected: [
      '2:7 range seed',
      '4:17 cross-field/text-drop-rate-one model.textDropRate',
      '6:12 cross-field/backbone-depth model.backbone.depth',
    ],
  },
];

/** Formats a problem as the corpus table writes it. */
function formatProblemLine(problem: ConfigProblem, caseFile: string): string {
  let file = problem.file === COMMAND_LINE ? COMMAND_LINE : path.relative(corpusDir, path.resolve(problem.file));
  file = file === caseFile ? '' : `${file}:`;
  const configPath = problem.path === '' ? '' : ` ${problem.path}`;
  return `${file}${problem.line}:${problem.column} ${problem.code}${configPath}`;
}

describe('malformed config corpus', () => {
  for (const corpusCase of CASES) {
    const name = corpusCase.set === undefined ? corpusCase.file : `${corpusCase.file} --set ${corpusCase.set.join(' --set ')}`;
    test(name, () => {
      const checked = checkConfig(path.join(corpusDir, corpusCase.file), { overrides: corpusCase.set });
      assert.deepEqual(
        checked.problems.map((problem) => formatProblemLine(problem, corpusCase.file)),
        corpusCase.expected,
      );
      const hasErrors = checked.problems.some((problem) => problem.severity === 'error');
      assert.equal(checked.config === undefined, hasErrors, 'the config is returned exactly when there is no error');
    });
  }

  test('corpus has 50 cases and no unused file', () => {
    assert.ok(CASES.length >= 50, `${CASES.length} cases`);
    const files = readdirSync(corpusDir).filter((name) => name.endsWith('.yaml'));
    const used = new Set(CASES.map((corpusCase) => corpusCase.file));
    assert.deepEqual(
      files.filter((name) => !used.has(name)),
      [],
    );
  });

  test('codes of the corpus are documented', () => {
    const known = new Set([...Object.keys(PROBLEM_CODES), ...CROSS_FIELD_CHECKS.map((check) => `cross-field/${check.name}`)]);
    for (const corpusCase of CASES) {
      for (const expected of corpusCase.expected) {
        const code = expected.replace(COMMAND_LINE, '').split(' ')[1];
        assert.ok(known.has(code), `${corpusCase.file}: ${code}`);
      }
    }
  });
});
