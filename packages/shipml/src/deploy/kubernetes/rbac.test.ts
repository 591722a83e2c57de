import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REQUIRED_RULES } from './rbac.js';

describe('rbac', () => {
  it('the README documents exactly the rules the target needs', () => {
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    const block = /## Permissions[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const role = parse(block!) as { kind: string; rules: unknown };
    expect(role.kind).toBe('Role');
    expect(role.rules).toEqual(REQUIRED_RULES);
  });
});
