/** The AWS SDK's documented switch for its Node-version notice (@aws-sdk/core, emitWarningIfUnsupportedVersion). */
const SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Runs `construct` (a synchronous SDK client constructor) without the SDK's one
 * NodeVersionSupportWarning: on Node < 22 every S3 command otherwise prints that SDK
 * releases after January 2027 will need Node 22. ShipML supports and tests Node 20, and a
 * user cannot act on the notice. The SDK reads the switch while the client is constructed,
 * so it is set for that synchronous call only and then restored: the process's environment
 * is as it was before, and every other warning (ours, Node's, the SDK's) still shows.
 */
export function withoutNodeVersionWarning<T>(construct: () => T): T {
  const before = process.env[SWITCH];
  process.env[SWITCH] = 'true';
  try {
    return construct();
  } finally {
    if (before === undefined) delete process.env[SWITCH];
    else process.env[SWITCH] = before;
  }
}
