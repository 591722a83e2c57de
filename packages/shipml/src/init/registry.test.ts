import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { ciSpec } from './ci.js';
import { DEFAULT_TARGET } from './index.js';
import { ciSystems } from './registry.js';

describe('CI system registry', () => {
  it('lists exactly the CI system folders, each with its descriptor and README', async () => {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    const folders = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect([...ciSystems.ids].sort()).toEqual(folders);
    for (const folder of folders) {
      const files = await readdir(new URL(`./${folder}/`, import.meta.url));
      expect(files, folder).toEqual(expect.arrayContaining(['descriptor.ts', 'README.md']));
      const url = new URL(`./${folder}/descriptor.ts`, import.meta.url).href;
      const exports = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
      expect(exports[folder], `${folder}/descriptor.ts exports ${folder}`).toBe(
        ciSystems.get(folder),
      );
    }
  });

  it('refuses an unknown CI system naming the valid ones, and options of any kind', () => {
    expect(() => ciSystems.get('jenkins', '--ci')).toThrow(ConfigError);
    expect(() => ciSystems.get('jenkins', '--ci')).toThrow(
      '--ci: unknown CI system "jenkins": expected one of github, azure',
    );
    for (const system of ciSystems.all) {
      expect(system.optionsSchema.safeParse({}).success, system.id).toBe(true);
      expect(system.optionsSchema.safeParse({ branch: 'x' }).success, system.id).toBe(false);
    }
  });

  it('puts each definition at its own relative path, apart from the others', () => {
    const project = {
      kind: 'dockerfile',
      dir: '/x',
      dirName: 'x',
      alsoFound: undefined,
      dockerfile: 'Dockerfile',
      port: undefined,
    } as const;
    for (const workdir of ['', 'apps/digits']) {
      const spec = ciSpec({
        project,
        app: 'digits',
        workdir,
        branch: 'main',
        store: undefined,
        target: DEFAULT_TARGET,
        version: '1.2.3',
      });
      const paths = ciSystems.all.map((system) => system.path(spec));
      expect(new Set(paths).size).toBe(paths.length);
      for (const path of paths) {
        expect(path, 'relative to the repository root').not.toMatch(/^\//);
        expect(path.split('/')).not.toContain('..');
      }
      for (const system of ciSystems.all)
        expect(system.render(spec), system.id).toContain('shipml 1.2.3');
    }
  });
});
