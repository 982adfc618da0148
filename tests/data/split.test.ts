import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { Random } from '../../src/random.ts';
import { resolveDataRoot } from '../../src/data/root.ts';
import { groupPatients, sampleBalanced, splitByPatient, type Split } from '../../src/data/split.ts';
import { readVqaRad, type VqaRadImage } from '../../src/data/vqa-rad.ts';
import { REAL_DATA_ROOT, SKIP_WITHOUT_REAL_DATA } from '../fixtures/vqa-rad-fixture.ts';

describe('groupPatients', () => {
  const images = [
    { name: 'd.jpg', caseUrls: ['u9'] },
    { name: 'a.jpg', caseUrls: ['u3'] },
    { name: 'b.jpg', caseUrls: ['u2', 'u3'] },
    { name: 'c.jpg', caseUrls: ['u2'] },
    { name: 'e.jpg', caseUrls: ['u1', 'u5'] },
  ];

  test('joins images through shared cases', () => {
    const patientOf = groupPatients(images);
    assert.equal(patientOf.get('a.jpg'), 'u2');
    assert.equal(patientOf.get('b.jpg'), 'u2');
    assert.equal(patientOf.get('c.jpg'), 'u2');
    assert.equal(patientOf.get('d.jpg'), 'u9');
    assert.equal(patientOf.get('e.jpg'), 'u1');
  });

  test('ids do not depend on input order', () => {
    const forward = groupPatients(images);
    const backward = groupPatients([...images].reverse());
    assert.deepEqual([...backward].sort(), [...forward].sort());
  });
});

describe('sampleBalanced', () => {
  // Labels: 4 'rare' items (ids 0 to 3), then 'odd' and 'even' items by id parity, 13 each.
  const labelOf = (index: number) => {
    if (index < 4) return 'rare';
    return index % 2 ? 'odd' : 'even';
  };
  const items = Array.from({ length: 30 }, (_, index) => ({ id: index, label: labelOf(index) }));
  const countLabels = (chosen: typeof items) => {
    const counts: Record<string, number> = {};
    for (const item of chosen) counts[item.label] = (counts[item.label] ?? 0) + 1;
    return counts;
  };

  test('balances labels', () => {
    const chosen = sampleBalanced(items, 9, (item) => item.label, new Random(1));
    assert.deepEqual(countLabels(chosen), { rare: 3, odd: 3, even: 3 });
  });

  test('short label leaves its turns to others', () => {
    const chosen = sampleBalanced(items, 14, (item) => item.label, new Random(1));
    const counts = countLabels(chosen);
    assert.equal(counts.rare, 4);
    assert.equal(counts.odd, 5);
    assert.equal(counts.even, 5);
  });

  test('keeps input order and is seeded', () => {
    const first = sampleBalanced(items, 10, (item) => item.label, new Random(5));
    const again = sampleBalanced(items, 10, (item) => item.label, new Random(5));
    const other = sampleBalanced(items, 10, (item) => item.label, new Random(6));
    assert.deepEqual(first, again);
    assert.notDeepEqual(first, other);
    assert.deepEqual(
      first.map((item) => item.id),
      first.map((item) => item.id).sort((a, b) => a - b),
    );
  });

  test('count above size returns all', () => {
    assert.equal(sampleBalanced(items, 100, (item) => item.label, new Random(1)).length, 30);
  });
});

describe('splitByPatient small', () => {
  test('every label reaches every set', () => {
    const items = ['A', 'B', 'C'].flatMap((label) =>
      Array.from({ length: 3 }, (_, index) => ({ patient: `${label}${index}`, label })),
    );
    const split = splitByPatient(items, (item) => item.patient, (item) => item.label, { testFraction: 0.2, validationFraction: 0.2 }, new Random(3));
    for (const set of ['train', 'validation', 'test'] as const) {
      assert.deepEqual(split[set].map((item) => item.label).sort(), ['A', 'B', 'C'], set);
    }
  });

  test('two patients keep one for training', () => {
    const items = [
      { patient: 'p1', label: 'A' },
      { patient: 'p2', label: 'A' },
    ];
    const split = splitByPatient(items, (item) => item.patient, (item) => item.label, { testFraction: 0.9, validationFraction: 0.5 }, new Random(3));
    assert.equal(split.train.length, 1);
    assert.equal(split.test.length, 1);
    assert.equal(split.validation.length, 0);
  });
});

describe('splitByPatient on real release', { skip: SKIP_WITHOUT_REAL_DATA }, () => {
  let images: VqaRadImage[];
  let patientOf: Map<string, string>;
  const fractions = { testFraction: 0.2, validationFraction: 0.2 };
  const splitWithSeed = (seed: number): Split<VqaRadImage> =>
    splitByPatient(images, (image) => patientOf.get(image.name)!, (image) => image.organ, fractions, new Random(seed).fork('split'));

  before(async () => {
    images = await readVqaRad(resolveDataRoot(REAL_DATA_ROOT, '/configs', {}));
    patientOf = groupPatients(images);
  });

  test('groups 314 images into 313 patients', () => {
    assert.equal(new Set(patientOf.values()).size, 313);
  });

  test('no patient or case in two sets', () => {
    const split = splitWithSeed(1234);
    const setOfPatient = new Map<string, string>();
    const setOfCase = new Map<string, string>();
    for (const set of ['train', 'validation', 'test'] as const) {
      for (const image of split[set]) {
        const patient = patientOf.get(image.name)!;
        assert.equal(setOfPatient.get(patient) ?? set, set, `patient ${patient}`);
        setOfPatient.set(patient, set);
        for (const url of image.caseUrls) {
          assert.equal(setOfCase.get(url) ?? set, set, `case ${url}`);
          setOfCase.set(url, set);
        }
      }
    }
    assert.equal(split.train.length + split.validation.length + split.test.length, 314);
  });

  test('fractions match the settings', () => {
    const split = splitWithSeed(1234);
    const patients = (set: VqaRadImage[]) => new Set(set.map((image) => patientOf.get(image.name))).size;
    const total = 313;
    assert.ok(Math.abs(patients(split.test) / total - 0.2) < 0.02, `test ${patients(split.test)}`);
    assert.ok(Math.abs(patients(split.validation) / total - 0.16) < 0.02, `validation ${patients(split.validation)}`);
    assert.ok(Math.abs(patients(split.train) / total - 0.64) < 0.02, `train ${patients(split.train)}`);
  });

  test('every set has every class', () => {
    const split = splitWithSeed(1234);
    for (const set of ['train', 'validation', 'test'] as const) {
      assert.deepEqual([...new Set(split[set].map((image) => image.organ))].sort(), ['ABD', 'CHEST', 'HEAD'], set);
    }
  });

  test('same seed same split', () => {
    const names = (split: Split<VqaRadImage>) => split.test.map((image) => image.name);
    assert.deepEqual(names(splitWithSeed(1234)), names(splitWithSeed(1234)));
    assert.notDeepEqual(names(splitWithSeed(1234)), names(splitWithSeed(1235)));
  });
});
