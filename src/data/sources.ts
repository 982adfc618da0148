/**
 * The importers behind `data.source`: each reads its data set into the same entries (one per image, with
 * its line in the source file), which the checks, the split and the batches then share.
 */
import path from 'node:path';
import type { DataConfig } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import { readManifest } from './manifest.ts';
import type { DataProblem } from './problems.ts';
import { buildReport } from './reports.ts';
import { describePathSetting, resolveDataRoot } from './root.ts';
import { groupPatients } from './split.ts';
import type { DataSource, DatasetEntry } from './types.ts';
import { IMAGE_FOLDER_NAME, METADATA_FILE_NAME, readVqaRad } from './vqa-rad.ts';

/**
 * Read the data set that `data` names. `configDir` is the folder of the config file, which relative
 * paths in `data` start from. Throws DataError when the data set cannot be read at all, such as a missing
 * folder or file, or a VQA-RAD metadata file with invalid records. Problems of single rows are returned in
 * `problems` instead.
 */
export async function readDataSource(data: DataConfig, configDir: string): Promise<DataSource> {
  if (data.source === 'manifest') {
    if (data.manifest === null) {
      throw new DataError(
        'data.source is manifest, but data.manifest is not set. Set data.manifest to the manifest file ' +
          '(.jsonl, .csv or .tsv), relative to the config file.',
      );
    }
    const file = path.resolve(configDir, data.manifest);
    return readManifest(file, data, describePathSetting('data.manifest', data.manifest, configDir));
  }
  if (data.sentenceTypes !== null) {
    throw new DataError(
      'data.sentenceTypes applies to manifests only, but data.source is vqa-rad, whose sentences take the ' +
        'question type of their record. Remove data.sentenceTypes, or set data.source to manifest.',
    );
  }
  return importVqaRad(data, configDir);
}

/**
 * Read the VQA-RAD release into entries: one per image, its report built from its question-answer records
 * (without ORGAN questions unless data.includeOrganQuestions), and its patient the group of images that
 * share case URLs. An image whose report is empty because all its questions were ORGAN questions gives a
 * warning, not an error.
 */
export async function importVqaRad(data: DataConfig, configDir: string): Promise<DataSource> {
  const root = resolveDataRoot(data.root, configDir);
  const images = await readVqaRad(root);
  const imageFolder = path.join(root.path, IMAGE_FOLDER_NAME);
  const metadataFile = path.join(root.path, METADATA_FILE_NAME);
  const patientOf = groupPatients(images);
  const problems: DataProblem[] = [];

  const entries: DatasetEntry[] = images.map((image) => {
    const report = buildReport(image.records, data.includeOrganQuestions);
    if (report.length === 0) {
      problems.push({
        file: metadataFile,
        line: image.line,
        code: 'empty-report',
        message:
          `image ${image.name} has only ORGAN questions, which name the label and are left out, so its report ` +
          'is empty and its sentence slots are masked. Set data.includeOrganQuestions to keep them.',
        severity: 'warning',
      });
    }
    return {
      line: image.line,
      id: image.name,
      image: image.name,
      imagePath: path.join(imageFolder, image.name),
      labelName: image.organ,
      patientId: patientOf.get(image.name)!,
      reports: [report],
    };
  });

  return {
    kind: 'vqa-rad',
    file: metadataFile,
    root: root.path,
    entries,
    rows: images.length,
    problems,
    hasSplits: false,
    missingImageAdvice:
      `The metadata file has questions about this image. Copy the missing file from the VQA-RAD release ` +
      `(Open Science Framework project 89kps) into ${imageFolder}.`,
  };
}
