// Worker bootstrap: register tsx in this thread (workers do not inherit the loader), then run the worker.
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');
