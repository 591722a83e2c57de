import { resolve } from 'node:path';
import type { StoreDescriptor } from '../types.js';
import { FileStoreOptionsSchema } from './schema.js';

/** file://DIR — absolute (file:///srv/models) or relative to the working directory (file://./models). */
export const file = {
  id: 'file',
  summary: 'a directory on this machine (or a shared file system)',
  urlForm: 'file://DIR',
  optionsSchema: FileStoreOptionsSchema,
  urlParameters: {},
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: 'file:///srv/models',
  open: async (location) => new (await import('./index.js')).FileModelStore(resolve(location)),
} as const satisfies StoreDescriptor<typeof FileStoreOptionsSchema>;
