/** Renders a resolved config back to YAML, as saved in each run folder and printed by `tandem run --dry-run`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Document } from 'yaml';
import { resolveDataRoot } from '../data/root.ts';
import type { LoadedConfig } from './load.ts';
import { updateFilePaths } from './merge.ts';
import type { ExperimentConfig } from './schema.ts';
import { schemaAt } from './validate.ts';

/**
 * Renders a resolved config as YAML with its keys in schema order, so that saved configs of different
 * runs line up in a diff. `header` becomes a comment at the top, one `#` line per line of text. The
 * output loads back with `loadConfig` to an equal config. File paths (the schema fields marked
 * `filePath`, such as data.root and output.root) are relative to the original config's folder. Pass
 * that folder as `configDir` to write them as absolute paths, which stay valid when the output is saved
 * in another folder.
 */
export function renderConfig(config: ExperimentConfig, options: { header?: string; configDir?: string } = {}): string {
  const rendered = options.configDir === undefined ? config : resolveFilePaths(config, options.configDir);
  const document = new Document(orderBySchema(rendered, []));
  if (options.header !== undefined) document.commentBefore = options.header.replace(/^/gm, ' ');
  return document.toString({ lineWidth: 0 });
}

/**
 * Describes what `tandem run` would do with a loaded config, without reading data or training: comment
 * lines that name the files, the overrides, the model, the data and the results folder, followed by the
 * resolved config with every default and absolute file paths. The whole output loads back as a config.
 */
export function renderDryRun(loaded: LoadedConfig, environment: NodeJS.ProcessEnv = process.env): string {
  const { config, dir } = loaded;
  const [configFile, ...bases] = loaded.files;
  const lines = ['tandem run --dry-run: nothing was trained and no file was written.'];
  lines.push(bases.length === 0 ? `Config: ${configFile}` : `Config: ${configFile}, extending ${bases.join(', ')}`);
  if (loaded.overrides.length > 0) lines.push(`Overrides: ${loaded.overrides.map((option) => `--set ${option}`).join(' ')}`);

  const backbone = config.model.backbone;
  const backboneName = backbone.type === 'wrn' ? `WRN-${backbone.depth}-${backbone.widenFactor}` : backbone.type;
  const modelName = (config.model as { type?: string }).type === 'image-only' ? 'an image-only classifier' : 'TandemNet';
  const backend =
    config.backend === 'auto' ? 'auto (the first usable of tensorflow-gpu, tensorflow, wasm and cpu)' : config.backend;
  lines.push(
    `Would train ${modelName} with a ${backboneName} backbone for ${config.train.epochs} epochs of batch ${config.train.batchSize}, seed ${config.seed}, on backend ${backend}.`,
  );

  const manifest = (config.data as { source?: string; manifest?: string | null }).manifest;
  if ((config.data as { source?: string }).source === 'manifest' && typeof manifest === 'string') {
    const manifestPath = path.resolve(dir, manifest);
    lines.push(`Data: the manifest ${manifestPath} (${existsSync(manifestPath) ? 'found' : 'not found'}).`);
  } else {
    const root = resolveDataRoot(config.data.root, dir, environment);
    lines.push(`Data: ${root.path}, set by ${root.origin} (${existsSync(root.path) ? 'found' : 'not found'}).`);
  }
  lines.push(`Results: a new folder under ${path.join(path.resolve(dir, config.output.root), config.name)}${path.sep}.`);
  lines.push('', 'The resolved config, every default included:');
  return renderConfig(config, { header: lines.join('\n'), configDir: dir });
}

/** Returns a copy of the config whose relative file paths are made absolute against `configDir`. */
export function resolveFilePaths(config: ExperimentConfig, configDir: string): ExperimentConfig {
  const resolved = structuredClone(config) as unknown as Record<string, unknown>;
  updateFilePaths(resolved, (value) => path.resolve(configDir, value));
  return resolved as unknown as ExperimentConfig;
}

/** Copies a value with the keys of every mapping in schema order, followed by any keys the schema lacks. */
function orderBySchema(value: unknown, segments: string[]): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  const schemaKeys = Object.keys(schemaAt(segments)?.properties ?? {});
  const knownKeys = schemaKeys.filter((key) => key in record);
  const otherKeys = Object.keys(record).filter((key) => !schemaKeys.includes(key));

  const ordered: Record<string, unknown> = {};
  for (const key of [...knownKeys, ...otherKeys]) ordered[key] = orderBySchema(record[key], [...segments, key]);
  return ordered;
}
