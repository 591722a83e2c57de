/**
 * The release half of a run: deploy, then verify through the load balancer; a failed verify
 * rolls the target back to the previous revision (or removes a first release). With
 * `deploy.verify` the image's signature and attestations are checked before the target is touched.
 */

import { dirname } from 'node:path';
import { releaseOf } from '../deploy/release.js';
import { appName, deployConfig, deploySpec } from '../deploy/spec.js';
import { RolloutError, type Release } from '../deploy/types.js';
import { enforceDeployPolicy } from './policy.js';
import { verifyRelease } from './verify.js';
import { type Run, StageFailure, type PipelineOptions } from './run-state.js';

export async function releaseStages(
  run: Run,
  options: PipelineOptions,
  known?: Release,
): Promise<void> {
  const { config, configFile, signal } = options;
  const app = appName(config, configFile, dirname(configFile));
  const deploy = deployConfig(config);
  const spec = deploySpec(deploy, app);
  const image = run.report.image;
  if (!image) throw new StageFailure('no image to deploy');
  const release = known ?? (await releaseOf(image.reference, options.registry));
  const target = await run.deployTarget();
  let url: string | undefined;
  await run.stage('deploy', async () => {
    // The deploy policy first: a refused image changes nothing on the target.
    const verified = await enforceDeployPolicy(
      release.image,
      deploy.verify,
      { configFile, cwd: dirname(configFile), env: options.env },
      options.registry,
    );
    for (const line of verified ?? []) run.log('deploy', line);
    try {
      const result = await target.deploy(release, spec, {
        signal,
        onEvent: (e) => run.log('deploy', e.message),
      });
      url = result.url;
      run.report.live = result.revision;
      run.report.url = result.url;
      const policy = verified ? ', signature and attestations verified' : '';
      return `revision ${result.revision.number} serves ${release.image} (${result.seconds} s${policy})${url ? ` at ${url}` : ''}`;
    } catch (err) {
      if (err instanceof RolloutError) run.report.live = err.live;
      throw err;
    }
  });
  const verify = config.verify ?? { versionPath: '/version', timeoutSeconds: 30 };
  if (!url) {
    run.skip('verify', `the ${target.kind} target gives no URL to verify through`);
    return;
  }
  const at = url;
  await run.stage('verify', async () => {
    try {
      const checks = await verifyRelease({
        url: at,
        release,
        readinessPath: spec.readinessPath,
        verify,
        signal,
      });
      return checks.join('; ');
    } catch (err) {
      const why = (err as Error).message;
      run.log('verify', `verification failed (${why}): rolling back`);
      const back = await target.rollback(app, undefined, { signal: undefined }).then(
        (r) => `rolled back: revision ${r.revision.number} (${r.revision.image}) serves`,
        async () => {
          await target.destroy(app);
          return 'nothing to roll back to: the release was removed';
        },
      );
      run.report.live = (await target.status(app)).live;
      throw new StageFailure(`verify: ${why}; ${back}`);
    }
  });
}
