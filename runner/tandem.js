#!/usr/bin/env node
// Entry point of the `tandem` command: registers tsx so that the TypeScript sources run as they are.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// tsx reads tsconfig.json from the working directory unless given a path. Without the project's own
// (jsx: react-jsx), the terminal screen's .tsx files fail with "React is not defined" when tandem is
// started from another folder.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('./cli.ts');
