// Entry point of a gradient worker thread. Worker threads do not inherit the TypeScript loader that the
// main thread registered (tsx), so the worker registers it before it imports its TypeScript module.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
