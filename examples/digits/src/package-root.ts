import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The app's own directory (the one holding its package.json), found from this file whether it
 * runs from src/ (tests, tsx) or from dist/src/ (npm start).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'public'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the digits app directory');
    dir = parent;
  }
}

export function readPackageJson(root: string): { name: string; version: string } {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return { name: pkg.name, version: pkg.version };
}
