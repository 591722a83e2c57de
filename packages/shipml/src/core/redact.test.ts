import { describe, expect, it } from 'vitest';
import { Redactor, redactorFromEnv } from './redact.js';

describe('Redactor', () => {
  it('masks registered values wherever they appear', () => {
    const r = new Redactor().add('s3cr3t-value', 'abc', undefined);
    expect(r.redact('key=s3cr3t-value and s3cr3t-value; abc stays (too short to register)')).toBe(
      'key=*** and ***; abc stays (too short to register)',
    );
  });

  it('masks secrets it was never told about, by shape', () => {
    const r = new Redactor();
    expect(r.redact('https://user:hunter2@registry.example/v2')).toBe(
      'https://user:***@registry.example/v2',
    );
    expect(
      r.redact(
        'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFy==;EndpointSuffix=x',
      ),
    ).toBe('DefaultEndpointsProtocol=https;AccountName=a;AccountKey=***;EndpointSuffix=x');
    expect(r.redact('GET https://a.blob.core.windows.net/c/b?sv=2024&sig=abc%2Fdef&se=1')).toBe(
      'GET https://a.blob.core.windows.net/c/b?sv=2024&sig=***&se=1',
    );
    expect(r.redact("authorization: 'SharedKey acct:c2lnbmF0dXJl'")).toBe("authorization: '***'");
    expect(r.redact('X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA%2F')).toBe(
      'X-Amz-Signature=***&X-Amz-Credential=***',
    );
  });

  it('knows the secret environment variables, including the key inside a connection string', () => {
    const r = redactorFromEnv({
      AWS_SECRET_ACCESS_KEY: 'aws-secret-1',
      AZURE_STORAGE_CONNECTION_STRING: 'AccountName=a;AccountKey=KEYKEYKEY',
    });
    expect(r.redact('aws-secret-1 / KEYKEYKEY')).toBe('*** / ***');
  });
});
