#!/usr/bin/env node
// Entry point of the `tandem` command: registers tsx so that the TypeScript sources run as they are.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
