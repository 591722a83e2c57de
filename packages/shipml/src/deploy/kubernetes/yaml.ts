import type { KubernetesObject } from '@kubernetes/client-node';
import { stringify } from 'yaml';

const REDACTED = '<redacted>';

/**
 * The objects as one multi-document YAML stream (`shipml render`). Secret values are
 * replaced unless `showSecrets` is set: rendered output ends up in terminals and CI logs.
 */
export function manifestsToYaml(
  objects: readonly KubernetesObject[],
  options: { showSecrets?: boolean } = {},
): string {
  return objects
    .map((object) => {
      const shown = options.showSecrets ? object : redactSecret(object);
      return stringify(shown, { lineWidth: 0 });
    })
    .join('---\n');
}

function redactSecret(object: KubernetesObject): KubernetesObject {
  if (object.kind !== 'Secret') return object;
  const secret = object as KubernetesObject & {
    data?: Record<string, string>;
    stringData?: Record<string, string>;
  };
  const mask = (values: Record<string, string> | undefined) =>
    values && Object.fromEntries(Object.keys(values).map((k) => [k, REDACTED]));
  const redacted: typeof secret = {
    ...secret,
    data: mask(secret.data),
    stringData: mask(secret.stringData),
  };
  return redacted;
}
