/** Renders a resolved config back to YAML, as saved in each run folder. */
import path from 'node:path';
import { Document } from 'yaml';
import type { ExperimentConfig } from './schema.ts';
import { schemaAt } from './validate.ts';

/**
 * Renders a resolved config as YAML with its keys in schema order, so that saved configs of different
 * runs line up in a diff. `header` becomes a comment at the top, one `#` line per line of text. The
 * output loads back with `loadConfig` to an equal config. The paths data.root and output.root are
 * relative to the original config's folder. Pass that folder as `configDir` to write them as absolute
 * paths, which stay valid when the output is saved in another folder.
 */
export function renderConfig(config: ExperimentConfig, options: { header?: string; configDir?: string } = {}): string {
  let rendered = config;
  if (options.configDir !== undefined) {
    const configDir = options.configDir;
    rendered = {
      ...config,
      data: { ...config.data, root: path.resolve(configDir, config.data.root) },
      output: { ...config.output, root: path.resolve(configDir, config.output.root) },
    };
  }
  const document = new Document(orderBySchema(rendered, []));
  if (options.header !== undefined) document.commentBefore = options.header.replace(/^/gm, ' ');
  return document.toString({ lineWidth: 0 });
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
