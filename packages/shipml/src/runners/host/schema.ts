import { z } from 'zod';

/** The host runner has no options of its own: the command runs as ShipML's own user. */
export const HostRunnerOptionsSchema = z.object({});
