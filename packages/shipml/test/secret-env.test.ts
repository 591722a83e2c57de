/**
 * The CLI's redactor knows its secret variables without loading any back end (start-up stays
 * light: core/redact.ts lists them), so this test is what keeps that list true: every secret
 * environment variable a back end declares in its descriptor is on it.
 */
import { describe, expect, it } from 'vitest';
import { imageBuilders } from '../src/builders/registry.js';
import { secretsOf } from '../src/core/registry.js';
import { redactorFromEnv, SECRET_ENV_VARS } from '../src/core/redact.js';
import { deployTargets } from '../src/deploy/registry.js';
import { ciSystems } from '../src/init/registry.js';
import { modelStores } from '../src/model-store/registry.js';
import { runners } from '../src/runners/registry.js';
import { serviceStores } from '../src/server/store/registry.js';
import { triggers } from '../src/server/triggers/registry.js';

const registries = [
  modelStores,
  deployTargets,
  imageBuilders,
  ciSystems,
  triggers,
  serviceStores,
  runners,
];

describe('secret environment variables', () => {
  it('every one a back end declares is redacted from all output', () => {
    const declared = [...secretsOf(registries).env];
    expect(declared.length).toBeGreaterThan(0);
    const missing = declared.filter(
      (name) => !(SECRET_ENV_VARS as readonly string[]).includes(name),
    );
    expect(missing, 'add them to SECRET_ENV_VARS in src/core/redact.ts').toEqual([]);
    const env = Object.fromEntries(declared.map((name, i) => [name, `value-of-${i}-${name}`]));
    const redactor = redactorFromEnv(env);
    for (const value of Object.values(env))
      expect(redactor.redact(`x ${value} y`)).not.toContain(value);
  });
});
